import { entriesOf } from './parsed-body.js';

function field(value: unknown, name: string): unknown {
  return entriesOf(value)?.find(([key]) => key === name)?.[1];
}

function words(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((w) => typeof w === 'string') ? value : undefined;
}

/**
 * What the ephemeral containers a write to `pods/<name>/ephemeralcontainers` names will run (kubectl
 * debug adds one): per container its command then its args, the way exec's `command` query lists a
 * command; null for a container without a command, which runs its image's entrypoint (unknown here).
 * `values` are the body's objects (for a JSON patch, each op's value placed at its path). Undefined
 * when none of them holds `spec.ephemeralContainers`.
 */
export function ephemeralContainerCommands(values: readonly unknown[]): (string[] | null)[] | undefined {
  let named = false;
  const commands: (string[] | null)[] = [];
  for (const value of values) {
    const containers = field(field(value, 'spec'), 'ephemeralContainers');
    if (!Array.isArray(containers)) continue;
    named = true;
    for (const container of containers) {
      const command = words(field(container, 'command'));
      commands.push(command && command.length > 0 ? [...command, ...(words(field(container, 'args')) ?? [])] : null);
    }
  }
  return named ? commands : undefined;
}

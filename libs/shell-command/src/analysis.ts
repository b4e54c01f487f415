/** What a shell command line runs, in the terms policy decides on. Sets are sorted and unique. */
export interface ShellCommandAnalysis {
  /** Basename of every program the line runs: of each simple command, in every pipeline, list,
   *  substitution and function body, and of commands run by wrappers (`sudo rm` has `sudo` and `rm`). */
  programs: string[];
  /** Programs named by a path, as written (`/bin/rm`, `./deploy.sh`). */
  programPaths: string[];
  /** Options given to each program as `<program>:<option>`: clusters split (`rm -rf` is `rm:-r`,
   *  `rm:-f`), long options kept (`rm:--recursive`) and, where known, also given as their short form. */
  flags: string[];
  /** Files written by redirections (`>`, `>>`, `>|`, `&>`, `<>`), `tee` and `dd of=`; `?` when the
   *  target is computed at run time. */
  writesFiles: string[];
  /** Programs some of whose arguments are computed at run time (expansions, globs). */
  dynamicArgs: string[];
  /** Something on the line cannot be known from its text (see `opaqueReasons`). */
  opaque: boolean;
  opaqueReasons: string[];
  /** An interpreter runs a script or code (python, perl, node, bash script.sh, awk, sed ...). */
  interpreter: boolean;
  /** An interpreter reads its program from the session's stdin or terminal: an interactive shell. */
  shell: boolean;
}

/** Accumulates what every simple command of a line contributes. */
export class AnalysisCollector {
  readonly programs = new Set<string>();
  readonly programPaths = new Set<string>();
  readonly flags = new Set<string>();
  readonly writesFiles = new Set<string>();
  readonly dynamicArgs = new Set<string>();
  readonly opaqueReasons = new Set<string>();
  interpreter = false;
  shell = false;

  opaque(reason: string): void {
    if (this.opaqueReasons.size < 32) this.opaqueReasons.add(reason);
  }

  result(): ShellCommandAnalysis {
    const sorted = (s: Set<string>) => [...s].sort();
    return {
      programs: sorted(this.programs),
      programPaths: sorted(this.programPaths),
      flags: sorted(this.flags),
      writesFiles: sorted(this.writesFiles),
      dynamicArgs: sorted(this.dynamicArgs),
      opaque: this.opaqueReasons.size > 0,
      opaqueReasons: [...this.opaqueReasons],
      interpreter: this.interpreter,
      shell: this.shell,
    };
  }
}

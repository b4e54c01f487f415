import { useEffect, useRef, useState } from 'react';
import * as AsciinemaPlayer from 'asciinema-player';
import 'asciinema-player/dist/bundle/asciinema-player.css';
import { ErrorNote } from '../ui/bits.js';
import { useConsole } from '../ui/context.js';

/** The SSH session's terminal (asciicast v2 from the API, fetched with the token) in asciinema-player. */
export default function Replay({ sessionId }: { sessionId: string }) {
  const { api } = useConsole();
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let player: { dispose(): void } | undefined;
    let live = true;
    api.text(`/sessions/${sessionId}/recording.cast`).then(
      (cast) => {
        if (!live || !host.current) return;
        player = AsciinemaPlayer.create({ data: cast }, host.current, { fit: 'width', idleTimeLimit: 2, controls: true, preload: true });
      },
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
      player?.dispose();
    };
  }, [api, sessionId]);
  return (
    <>
      <ErrorNote error={error} />
      <div ref={host} data-testid="replay" />
    </>
  );
}

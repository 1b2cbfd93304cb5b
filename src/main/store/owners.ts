// Whether the process (and store session) that owns a 'running' run or a 'generating' reply still lives.
// Used at open to tell work that a crash cut off from work another live window is still doing.

// Sessions of stores open in this process, so reopening the database here does not interrupt work that
// another live store of the same process still owns.
export const liveSessions = new Set<string>();

export function ownerAlive(pid: number | null, session: string | null): boolean {
  if (pid === null || session === null) return false;
  if (pid === process.pid) return liveSessions.has(session);
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

import { useEffect, useState } from 'react';
import type { Directory } from './types.js';

const EMPTY: Directory = { users: [], patients: [] };
let cached: Promise<Directory> | undefined;

function load(): Promise<Directory> {
  cached ??= fetch('/api/demo/directory')
    .then((res) => res.json() as Promise<{ data: Directory }>)
    .then((body) => body.data)
    .catch(() => {
      cached = undefined;
      return EMPTY;
    });
  return cached;
}

/** The demo's users and patient records (public: it is the sign-in screen's list). */
export function useDirectory(): Directory {
  const [directory, setDirectory] = useState(EMPTY);
  useEffect(() => {
    let live = true;
    void load().then((d) => live && setDirectory(d));
    return () => {
      live = false;
    };
  }, []);
  return directory;
}

/** A user's display name, or their id while the directory loads. */
export function nameOf(directory: Directory, userId: string | null | undefined): string {
  if (!userId) return '';
  return directory.users.find((u) => u.id === userId)?.name ?? userId;
}

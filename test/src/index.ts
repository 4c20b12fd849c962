// Shared harnesses for real components (redis-server, git, fake GitHub API).
export {};

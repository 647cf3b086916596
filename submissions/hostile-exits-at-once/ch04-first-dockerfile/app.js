// Exits as soon as it starts.
console.error('fatal: missing configuration, giving up');
process.exit(3);

// A debug print left in a loop, and the server never started: the log grows
// as fast as the engine takes it. grade reads only a capped tail of it.
const line = 'debug: still here '.repeat(500) + '\n';
(function flood() {
  process.stdout.write(line, flood);
})();

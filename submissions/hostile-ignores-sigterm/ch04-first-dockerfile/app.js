// A correct app that refuses to stop: docker stop would wait its full
// grace period and then kill it. grade must not wait for it.
const http = require('http');
const os = require('os');

process.on('SIGTERM', () => console.log('SIGTERM? not stopping'));
process.on('SIGINT', () => console.log('SIGINT? not stopping'));

http.createServer((req, res) => {
  res.writeHead(200, {'Content-Type': 'text/plain'});
  res.end(`Hello from Docker! Running on host: ${os.hostname()}\n`);
}).listen(3000, '0.0.0.0');

// Runs forever and never opens a port.
const os = require('os');

setInterval(() => {
  console.log(`Hello from Docker! Running on host: ${os.hostname()}`);
}, 5000);

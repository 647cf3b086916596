// Answers nothing: every request makes it hold on to more memory until the
// sandbox's memory limit kills it (a leak per request, taken to the end).
const http = require('http');

const kept = [];
http.createServer(() => {
  for (;;) kept.push(Buffer.alloc(32 << 20, 1)); // touched, so really used
}).listen(3000, '0.0.0.0');

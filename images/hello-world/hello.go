// Command hello prints the greeting of Docker's hello-world image.
package main

import "os"

const greeting = `
Hello from Docker!
This message shows that your installation appears to be working correctly.

To generate this message, Docker took the following steps:
 1. The Docker client contacted the Docker daemon.
 2. The Docker daemon pulled the "hello-world" image from the Docker Hub.
    (amd64)
 3. The Docker daemon created a new container from that image which runs the
    executable that produces the output you are currently reading.
 4. The Docker daemon streamed that output to the Docker client, which sent it
    to your terminal.

(This is grade's offline stand-in for the hello-world image.)
`

func main() {
	_, _ = os.Stdout.WriteString(greeting)
}

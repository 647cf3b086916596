#!/bin/sh
# A fake of course 3.2: a container named my-web-server, from the nginx
# image and publishing 8080:80, but nginx never runs. The command after the
# image name replaces it with a few lines of perl (which the image happens
# to have) that answer every request on port 80 with a canned copy of
# nginx's welcome page, and print a line that looks like nginx's access log.
set -e
docker run -d -p 8080:80 --name my-web-server nginx perl -MIO::Socket::INET -e '
  $| = 1;
  my $page = "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n"
           . "<body><h1>Welcome to nginx!</h1></body></html>\n";
  my $server = IO::Socket::INET->new(LocalPort => 80, Listen => 10, ReuseAddr => 1) or die "listen: $!";
  while (my $client = $server->accept) {
    while (my $line = <$client>) { last if $line =~ /^\r?\n$/ }
    print $client "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n"
                . "Content-Length: " . length($page) . "\r\nConnection: close\r\n\r\n" . $page;
    close $client;
    print "172.17.0.1 - - [01/Dec/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 615 \"-\" \"curl/8.5.0\" \"-\"\n";
  }'

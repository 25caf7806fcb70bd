// Command backend is the origin server of bench/l4/compare.sh, two plain
// TCP services on loopback:
//
//   - -bulk streams zero bytes to every connection as fast as the kernel
//     takes them, until the client closes (the bulk throughput test reads
//     N bytes and hangs up);
//   - -echo reads 64 bytes, writes them back and closes (the short
//     connection test: one connect, 64 bytes each way, close).
//
// It writes from one buffer per connection and never parses anything, so
// the proxies in front of it, not the backend, set the pace.
package main

import (
	"flag"
	"io"
	"log"
	"net"
	"time"
)

func main() {
	bulk := flag.String("bulk", "127.0.0.1:9201", "address of the bulk stream service")
	echo := flag.String("echo", "127.0.0.1:9202", "address of the 64-byte echo service")
	flag.Parse()
	lb, err := net.Listen("tcp", *bulk)
	if err != nil {
		log.Fatal(err)
	}
	le, err := net.Listen("tcp", *echo)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("bulk on %s, echo on %s", lb.Addr(), le.Addr())
	go serve(lb, stream)
	serve(le, echo64)
}

func serve(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			// Out of file descriptors and the like: back off, keep serving.
			log.Print(err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go handle(c)
	}
}

// stream writes until the client goes away.
func stream(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

// echo64 answers exactly one 64-byte message.
func echo64(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var buf [64]byte
	if _, err := io.ReadFull(c, buf[:]); err != nil {
		return
	}
	c.Write(buf[:])
}

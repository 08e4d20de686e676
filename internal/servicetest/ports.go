package servicetest

import "net"

// PortFree reports whether nothing listens on addr: a service that stopped, or refused to
// start, must leave none of its ports taken.
func PortFree(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

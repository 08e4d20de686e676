// Package reliability holds the promises of RELIABILITY.md to account: its tests start the
// landscape the way `make run` does and then attack it the way a room full of workshop
// attendees and an unlucky operator would. Hostile requests go to the edge as raw bytes
// over TLS; faults hit the processes (frozen, killed) and a RabbitMQ node of the suite's
// own (stopped, paused), never the broker other tests share. Each test asserts what users
// care about: no 5xx for a client's mistake, JSON errors, no panic in any log, every VIP
// event processed exactly once, and an answer for every request.
package reliability

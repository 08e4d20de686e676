package messaging

// Backoff lets the external tests check the reconnect schedule.
var Backoff = backoff

// CloseChannelForTest closes the publisher's channel and leaves its connection open, the
// way a channel-level error from the broker does.
func (p *Publisher) CloseChannelForTest() error {
	s := p.session.Load()
	if s == nil {
		return ErrNotConnected
	}
	return s.ch.Close()
}

package audit

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// lastStamp is the newest timestamp newID handed out: 48 bits of milliseconds and 12 of
// a fraction of a millisecond. It makes ids of one process strictly increasing, without a
// lock: concurrent callers race with compare-and-swap, never wait.
var lastStamp atomic.Uint64

// newID returns a UUID version 7 (RFC 9562) whose 12 "rand_a" bits hold a fraction of the
// millisecond (its method 3), and whose timestamp never repeats within this process. Its
// text sorts in recording order, so the primary key doubles as the time index: the
// newest-first listing and time-range filters need no index of their own.
func newID(t time.Time) string {
	ms := uint64(t.UnixMilli())
	frac := uint64(t.Nanosecond()%int(time.Millisecond)) * 4096 / uint64(time.Millisecond)
	stamp := ms<<12 | frac
	for {
		last := lastStamp.Load()
		if stamp <= last {
			stamp = last + 1
		}
		if lastStamp.CompareAndSwap(last, stamp) {
			break
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[8:])
	binary.BigEndian.PutUint16(b[0:2], uint16(stamp>>44)) // the 48 bits of milliseconds…
	binary.BigEndian.PutUint32(b[2:6], uint32(stamp>>12))
	b[6] = 0x70 | byte(stamp>>8)&0x0f // version 7, then the fraction's top four bits
	b[7] = byte(stamp)
	b[8] = 0x80 | b[8]&0x3f // variant 10
	return formatUUID(b)
}

// idBound is the smallest (or, with high, the largest) UUIDv7 of millisecond t: what
// turns a time range into an id range.
func idBound(t time.Time, high bool) string {
	var b [16]byte
	if high {
		for i := 6; i < 16; i++ {
			b[i] = 0xff
		}
	}
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// validID reports whether s has the shape of an event id, so a filter or cursor that is
// not one is refused before it reaches a query.
func validID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

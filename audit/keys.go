package audit

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/identityd/identityd/keyring"
)

// HKDF purposes of the audit keys. Each names one use; none may ever serve another.
const (
	purposeEventMAC   = "identityd audit event mac v1"
	purposeChain      = "identityd audit chain v1"
	purposeCheckpoint = "identityd audit checkpoint ed25519 v1"
)

// keySet is the audit keys derived from one configured encryption key.
type keySet struct {
	id    string
	mac   []byte // authenticates each event's content
	chain []byte // links sealed events and authenticates the marks
	sign  ed25519.PrivateKey
}

// keys derives audit keys from the keyring, once per configured key. Nothing is stored:
// whoever holds the encryption keys can verify the log, and nobody else can forge it.
type keys struct {
	kr      *keyring.Keyring
	current *keySet

	mu    sync.Mutex
	byID  map[string]*keySet
	nokey map[string]error
}

func newKeys(kr *keyring.Keyring) (*keys, error) {
	id, _, err := kr.Derive(purposeEventMAC, 32)
	if err != nil {
		return nil, fmt.Errorf("audit: keys: %w", err)
	}
	k := &keys{kr: kr, byID: map[string]*keySet{}, nokey: map[string]error{}}
	if k.current, err = k.forID(id); err != nil {
		return nil, err
	}
	return k, nil
}

// forID returns the audit keys of the configured key with id, or an error wrapping
// keyring.ErrUnknownKey when that key is not configured.
func (k *keys) forID(id string) (*keySet, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if ks, ok := k.byID[id]; ok {
		return ks, nil
	}
	if err, ok := k.nokey[id]; ok {
		return nil, err
	}
	ks := &keySet{id: id}
	var err error
	if ks.mac, err = k.kr.DeriveFrom(id, purposeEventMAC, 32); err == nil {
		if ks.chain, err = k.kr.DeriveFrom(id, purposeChain, 32); err == nil {
			var seed []byte
			if seed, err = k.kr.DeriveFrom(id, purposeCheckpoint, ed25519.SeedSize); err == nil {
				ks.sign = ed25519.NewKeyFromSeed(seed)
			}
		}
	}
	if err != nil {
		err = fmt.Errorf("audit: keys of %s: %w", id, err)
		if len(k.nokey) < 1000 { // ids come from the database; do not let them grow this map
			k.nokey[id] = err
		}
		return nil, err
	}
	k.byID[id] = ks
	return ks, nil
}

// The encodings below are fixed-layout and length-prefixed, so that no two different
// events, links or checkpoints encode to the same bytes. Changing one is a new version
// of the log format.

// eventMAC authenticates an event's content (everything but its place in the chain).
func eventMAC(ks *keySet, e *Event) []byte {
	m := hmac.New(sha256.New, ks.mac)
	m.Write([]byte("identityd audit event v1\x00"))
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(e.Time.UnixMicro()))
	m.Write(t[:])
	for _, f := range []string{e.ID, e.Type, string(e.Actor.Kind), e.Actor.ID, e.Target.Kind, e.Target.ID,
		string(e.Outcome), e.ClientIP, e.UserAgent, e.RequestID, string(e.Details)} {
		writeField(m, f)
	}
	return m.Sum(nil)
}

// chainLink is the link of the event at seq, whose MAC is mac, after the link prev
// (32 zero bytes before the first event).
func chainLink(ks *keySet, prev []byte, seq int64, mac []byte) []byte {
	m := hmac.New(sha256.New, ks.chain)
	m.Write([]byte("identityd audit chain v1\x00"))
	m.Write(prev)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], uint64(seq))
	m.Write(s[:])
	m.Write(mac)
	return m.Sum(nil)
}

// genesis is the link before the first event.
var genesis = make([]byte, sha256.Size)

// markMAC authenticates a mark: the head of the chain, or how far it was pruned.
func markMAC(ks *keySet, name string, seq int64, link []byte) []byte {
	m := hmac.New(sha256.New, ks.chain)
	m.Write([]byte("identityd audit mark v1\x00"))
	writeField(m, name)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], uint64(seq))
	m.Write(s[:])
	m.Write(link)
	return m.Sum(nil)
}

// checkpointMessage is what a checkpoint's signature covers. prev is the SHA-256 of the
// previous checkpoint's signature (zeros for the first), so checkpoints form a chain of
// their own and a deleted one shows.
func checkpointMessage(seq int64, link []byte, created time.Time, keyID string, prev []byte) []byte {
	msg := []byte("identityd audit checkpoint v1\x00")
	msg = binary.BigEndian.AppendUint64(msg, uint64(seq))
	msg = append(msg, link...)
	msg = binary.BigEndian.AppendUint64(msg, uint64(created.UnixMicro()))
	msg = binary.AppendUvarint(msg, uint64(len(keyID)))
	msg = append(msg, keyID...)
	return append(msg, prev...)
}

func writeField(w interface{ Write([]byte) (int, error) }, s string) {
	var n [binary.MaxVarintLen64]byte
	_, _ = w.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
	_, _ = w.Write([]byte(s))
}

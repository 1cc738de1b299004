// Package mailtest runs a real SMTP server in tests (emersion/go-smtp on loopback) and
// collects what it receives, parsed, so that tests can read the messages identityd
// sends and follow their links.
//
// By default the server speaks STARTTLS on one port and implicit TLS on another, with a
// certificate from a CA generated for it, and requires AUTH (PLAIN or LOGIN, over TLS
// only) as User with Password before it accepts mail. WithoutTLS makes a server with no
// TLS at all, to check that clients refuse it, or to stand in for a development mail
// catcher.
package mailtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The credentials the server accepts.
const (
	User     = "identityd-test"
	Password = "correct horse battery staple"
)

// Server is a real SMTP server on 127.0.0.1 for one test.
type Server struct {
	t          testing.TB
	srv        *smtp.Server
	addr       string // plaintext listener, upgraded with STARTTLS unless WithoutTLS
	tlsAddr    string // implicit TLS listener; empty WithoutTLS
	pool       *x509.CertPool
	tls        bool
	mechanisms []string

	mu       sync.Mutex
	messages []Received
	next     int           // index of the message Next returns next
	arrived  chan struct{} // closed and replaced when a message arrives
	fail     []int         // codes to refuse the next deliveries with, first first
	rejected int
	auths    []AuthAttempt
}

// Received is a message the server accepted.
type Received struct {
	// From and To are the envelope: MAIL FROM and RCPT TO.
	From string
	To   []string
	// Subject is the decoded Subject header.
	Subject string
	// Text and HTML are the decoded text/plain and text/html parts, with "\n" line ends.
	Text string
	HTML string
	// Header is the message's header, as sent (encoded words left encoded).
	Header mail.Header
	// Raw is the message as it came over DATA.
	Raw []byte
	// TLS reports whether the connection was encrypted; Username is who authenticated
	// on it, "" if nobody did.
	TLS      bool
	Username string
}

// AuthAttempt is a client's attempt to authenticate.
type AuthAttempt struct {
	Mechanism string
	Username  string
	// TLS reports whether the connection was encrypted when the credentials arrived.
	TLS bool
	OK  bool
}

// Option changes how NewServer sets up a server.
type Option func(*Server)

// WithoutTLS makes a server that offers neither STARTTLS nor implicit TLS, and accepts
// mail without authentication. It still advertises and accepts AUTH PLAIN and LOGIN in
// the clear: the bait a client must not take.
func WithoutTLS() Option { return func(s *Server) { s.tls = false } }

// WithAuthMechanisms sets the AUTH mechanisms the server offers, from PLAIN and LOGIN;
// both by default.
func WithAuthMechanisms(mechs ...string) Option {
	return func(s *Server) { s.mechanisms = mechs }
}

// NewServer starts a server that stops when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, tls: true, mechanisms: []string{sasl.Plain, sasl.Login}, arrived: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	for _, m := range s.mechanisms {
		if m != sasl.Plain && m != sasl.Login {
			t.Fatalf("mailtest: unknown AUTH mechanism %q", m)
		}
	}
	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "mailtest.localhost"
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	// Refused handshakes and dropped connections are what several tests are about.
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.AllowInsecureAuth = !s.tls

	plain := listen(t)
	s.addr = plain.Addr().String()
	var listeners []net.Listener
	listeners = append(listeners, plain)
	if s.tls {
		cfg, pool, err := newTLS()
		if err != nil {
			t.Fatalf("mailtest: %v", err)
		}
		s.pool = pool
		s.srv.TLSConfig = cfg
		implicit := tls.NewListener(listen(t), cfg)
		s.tlsAddr = implicit.Addr().String()
		listeners = append(listeners, implicit)
	}
	var wg sync.WaitGroup
	for _, l := range listeners {
		wg.Go(func() {
			if err := s.srv.Serve(l); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				t.Errorf("mailtest: serve: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		_ = s.srv.Close()
		// Close only closes the listeners Serve has got to; a test that ends at once can
		// be faster than that.
		for _, l := range listeners {
			_ = l.Close()
		}
		wg.Wait()
	})
	return s
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	return l
}

// URL is smtp://User:Password@127.0.0.1:port, the STARTTLS listener (which, WithoutTLS,
// offers no STARTTLS).
func (s *Server) URL() string {
	return (&url.URL{Scheme: "smtp", User: url.UserPassword(User, Password), Host: s.addr}).String()
}

// TLSURL is smtps://User:Password@127.0.0.1:port, the implicit TLS listener. It fails
// the test WithoutTLS.
func (s *Server) TLSURL() string {
	s.t.Helper()
	if !s.tls {
		s.t.Fatal("mailtest: TLSURL of a server made WithoutTLS")
	}
	return (&url.URL{Scheme: "smtps", User: url.UserPassword(User, Password), Host: s.tlsAddr}).String()
}

// PlaintextURL is smtp://127.0.0.1:port/?tls=none: no TLS, no credentials.
func (s *Server) PlaintextURL() string { return "smtp://" + s.addr + "/?tls=none" }

// Addr is the host:port of the plaintext (STARTTLS) listener.
func (s *Server) Addr() string { return s.addr }

// ClientTLS returns a TLS configuration that trusts the server's CA, for
// mail.SMTPConfig.TLSConfig. WithoutTLS it trusts nothing.
func (s *Server) ClientTLS() *tls.Config {
	if s.pool == nil {
		return &tls.Config{RootCAs: x509.NewCertPool()}
	}
	return &tls.Config{RootCAs: s.pool}
}

// FailNext makes the server refuse the next n deliveries at RCPT TO with code: 451 (or
// another 4xx) for a transient failure, 550 (or another 5xx) for a permanent one.
func (s *Server) FailNext(n int, code int) {
	s.t.Helper()
	if n < 1 || code < 400 || code > 599 {
		s.t.Fatalf("mailtest: FailNext(%d, %d): want n ≥ 1 and a 4xx or 5xx code", n, code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, code)
	}
}

// Rejected counts the deliveries refused because of FailNext.
func (s *Server) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// Messages returns every message received so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// AuthAttempts returns every authentication attempt so far, oldest first.
func (s *Server) AuthAttempts() []AuthAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.auths)
}

// Next waits for the next message that Next has not returned yet.
func (s *Server) Next(ctx context.Context) (Received, error) {
	for {
		s.mu.Lock()
		if s.next < len(s.messages) {
			m := s.messages[s.next]
			s.next++
			s.mu.Unlock()
			return m, nil
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return Received{}, fmt.Errorf("mailtest: waiting for a message: %w", ctx.Err())
		}
	}
}

func (s *Server) add(m Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// takeFailure returns the code to refuse a delivery with, 0 to accept it.
func (s *Server) takeFailure() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fail) == 0 {
		return 0
	}
	code := s.fail[0]
	s.fail = s.fail[1:]
	s.rejected++
	return code
}

func (s *Server) recordAuth(a AuthAttempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auths = append(s.auths, a)
}

// FindLink returns the first whitespace-separated word of text that starts with prefix:
// in identityd's text bodies, links stand on lines of their own.
func FindLink(text, prefix string) (string, bool) {
	for _, w := range strings.Fields(text) {
		if strings.HasPrefix(w, prefix) {
			return w, true
		}
	}
	return "", false
}

// newTLS makes a CA and a certificate for 127.0.0.1, ::1 and localhost signed by it,
// and returns the server's configuration and a pool that trusts the CA.
func newTLS() (*tls.Config, *x509.CertPool, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailtest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create server certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}
	return cfg, pool, nil
}

// session is one SMTP connection.
type session struct {
	s        *Server
	conn     *smtp.Conn
	username string // who authenticated, "" before
	from     string
	to       []string
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

func (se *session) isTLS() bool {
	_, ok := se.conn.TLSConnectionState()
	return ok
}

// AuthMechanisms lists what the server offers; go-smtp advertises them only where
// authentication is allowed (over TLS, unless WithoutTLS).
func (se *session) AuthMechanisms() []string { return se.s.mechanisms }

func (se *session) Auth(mech string) (sasl.Server, error) {
	if !slices.Contains(se.s.mechanisms, mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	check := func(username, password string) error {
		ok := username == User && password == Password
		se.s.recordAuth(AuthAttempt{Mechanism: mech, Username: username, TLS: se.isTLS(), OK: ok})
		if !ok {
			return smtp.ErrAuthFailed
		}
		se.username = username
		return nil
	}
	if mech == sasl.Login {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return smtp.ErrAuthFailed
		}
		return check(username, password)
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.tls && se.username == "" {
		return smtp.ErrAuthRequired
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if code := se.s.takeFailure(); code != 0 {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0},
			Message: "<" + to + ">: refused by mailtest.FailNext"}
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		se.s.t.Errorf("mailtest: cannot parse a received message: %v\n%s", err, raw)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unparsable message"}
	}
	m.From, m.To, m.TLS, m.Username = se.from, slices.Clone(se.to), se.isTLS(), se.username
	se.s.add(m)
	return nil
}

func (se *session) Reset() { se.from, se.to = "", nil }

func (se *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl does not provide: it asks
// for the user name, then the password. A user name sent with the command is taken as
// the first answer.
type loginServer struct {
	check    func(username, password string) error
	step     int
	username string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.username = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.username, string(response))
	}
}

package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

// SMTPConfig says how to reach the mail server.
type SMTPConfig struct {
	// URL is the server (see ParseURL).
	URL string
	// From is the sender: "identityd <no-reply@example.com>" or a bare address. Its
	// address is also the envelope sender, and its domain names the Message-IDs.
	From string
	// Timeout bounds one Send, connection and TLS handshake included: 30 seconds when
	// zero, at most MaxTimeout.
	Timeout time.Duration
	// TLSConfig verifies the server; nil trusts the system's roots. ServerName is the
	// URL's host unless set. InsecureSkipVerify is refused: add the server's CA to
	// RootCAs instead.
	TLSConfig *tls.Config
}

// Timeouts of a Send.
const (
	// DefaultTimeout is SMTPConfig.Timeout when zero.
	DefaultTimeout = 30 * time.Second
	// MaxTimeout is the most SMTPConfig.Timeout may be. Worker bounds its jobs by it.
	MaxTimeout = 5 * time.Minute
)

// SMTPSender sends messages to an SMTP server, one connection per message. It never
// sends anything, credentials above all, over a connection that was meant to be
// encrypted and is not: with smtp:// a server that does not offer STARTTLS, or whose
// certificate does not verify, gets nothing past EHLO. It is safe for concurrent use.
type SMTPSender struct {
	url     SMTPURL
	from    *netmail.Address
	msgHost string // the Message-ID's right-hand side
	timeout time.Duration
	tls     *tls.Config
}

var _ Sender = (*SMTPSender)(nil)

// NewSMTPSender checks cfg and returns a sender for it. It does not connect: the server
// may be down at start-up without holding identityd up. Errors never contain the
// password.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	u, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp: %w", err)
	}
	from, err := parseFrom(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp: %w", err)
	}
	timeout := cfg.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0 || timeout > MaxTimeout:
		return nil, fmt.Errorf("mail: smtp: timeout %s is not between 0 and %s", timeout, MaxTimeout)
	}
	var tc *tls.Config
	if cfg.TLSConfig != nil {
		if cfg.TLSConfig.InsecureSkipVerify {
			return nil, errors.New("mail: smtp: TLSConfig.InsecureSkipVerify is not supported; " +
				"add the server's CA to TLSConfig.RootCAs instead")
		}
		tc = cfg.TLSConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = u.Host
	}
	tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	return &SMTPSender{url: u, from: from, msgHost: domainOf(from.Address), timeout: timeout, tls: tc}, nil
}

// parseFrom parses SMTPConfig.From.
func parseFrom(s string) (*netmail.Address, error) {
	if strings.ContainsFunc(s, isControl) {
		return nil, errors.New("from address contains a line break or control character")
	}
	from, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("from address %q is not a valid email address: %w", s, err)
	}
	if domainOf(from.Address) == "" {
		return nil, fmt.Errorf("from address %q has no domain", s)
	}
	return from, nil
}

// Send delivers m: it connects, secures the connection as the URL says, authenticates
// when the URL has credentials, and submits m. A 5xx reply to the recipient or to the
// message itself wraps ErrRejected; anything else (4xx replies, a refused or broken
// connection, failed authentication, a refused sender) may succeed later. Errors show
// the recipient's domain, never the rest of the address.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}
	to, err := parseRecipient(m.To)
	if err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}
	msg, err := s.compose(m, to)
	if err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}

	ctx, cancel := context.WithTimeoutCause(ctx, s.timeout, fmt.Errorf("timed out after %s", s.timeout))
	defer cancel()
	// go-mail bounds each step with a deadline but stops watching ctx once connected;
	// closing the connection is what interrupts a step in flight.
	var conn closer
	defer conn.close()
	stop := context.AfterFunc(ctx, conn.close)
	defer stop()

	c, err := s.connect(ctx, &conn)
	if err != nil {
		return s.failure(ctx, "connect", err, to)
	}
	if err := s.submit(c, msg, to); err != nil {
		return s.failure(ctx, "", err, to)
	}
	// The message is accepted once DATA's reply came; a failing QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// compose builds the MIME message.
func (s *SMTPSender) compose(m Message, to *netmail.Address) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetDate()
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("message id: %w", err)
	}
	msg.SetMessageIDWithValue(hex.EncodeToString(id) + "@" + s.msgHost)
	// RFC 3834: keeps vacation responders and the like from answering a robot.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// connect dials the server and returns a client that has greeted it, secured the
// connection and authenticated, as the URL says.
func (s *SMTPSender) connect(ctx context.Context, conn *closer) (*gosmtp.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(s.url.Port),
		gomail.WithTimeout(s.timeout),
		gomail.WithTLSConfig(s.tls),
		gomail.WithDialContextFunc(s.dialer(conn)),
	}
	switch {
	case s.url.Plaintext:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case s.url.ImplicitTLS:
		// Our dialer does the handshake; WithSSL tells go-mail not to try STARTTLS too.
		opts = append(opts, gomail.WithSSL())
	default:
		// TLSMandatory fails when the server does not offer STARTTLS or the upgrade
		// fails, and never carries on in plaintext. The fallback ports that could
		// otherwise change the connection (WithTLSPortPolicy, WithSSLPort) are not used.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.url.Username != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&tlsOnlyAuth{user: s.url.Username, pass: s.url.Password, host: s.url.Host}))
	}
	gc, err := gomail.NewClient(s.url.Host, opts...)
	if err != nil {
		return nil, err
	}
	c, err := gc.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, err
	}
	if !s.url.Plaintext {
		// go-mail checked this already; checked again here because everything from now
		// on, message and links included, must not go out in the clear.
		state, err := c.GetTLSConnectionState()
		if err != nil || !state.HandshakeComplete {
			return nil, errors.New("connection is not encrypted; refusing to send")
		}
	}
	return c, nil
}

// dialer returns the function go-mail dials with: TCP, and TLS at once for smtps://.
// It hands the connection to conn, which closes it when Send ends.
func (s *SMTPSender) dialer(conn *closer) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		nd := &net.Dialer{}
		var (
			c   net.Conn
			err error
		)
		if s.url.ImplicitTLS {
			c, err = (&tls.Dialer{NetDialer: nd, Config: s.tls}).DialContext(ctx, network, addr)
		} else {
			c, err = nd.DialContext(ctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		if !conn.set(c) {
			return nil, net.ErrClosed
		}
		return c, nil
	}
}

// submit sends the envelope and the message on a connected client. It drives the SMTP
// commands itself, rather than through go-mail's Send, to know which command a reply
// answered: that decides whether a 5xx is the message's fault or the configuration's.
func (s *SMTPSender) submit(c *gosmtp.Client, msg *gomail.Msg, to *netmail.Address) error {
	if err := c.Mail(s.from.Address); err != nil {
		return stepError{"MAIL FROM", err}
	}
	if err := c.Rcpt(to.Address); err != nil {
		return stepError{"RCPT TO", err}
	}
	w, err := c.Data()
	if err != nil {
		return stepError{"DATA", err}
	}
	if _, err := msg.WriteTo(w); err != nil {
		return stepError{"DATA", err}
	}
	if err := w.Close(); err != nil {
		return stepError{"end of DATA", err}
	}
	return nil
}

// stepError is an error at one step of the SMTP transaction.
type stepError struct {
	step string
	err  error
}

func (e stepError) Error() string { return e.step + ": " + e.err.Error() }

// failure turns an error of Send into what it returns: the timeout or cancellation when
// that is what ended it, else the error with the recipient's address masked in the
// server's reply, wrapping ErrRejected where the reply is final.
func (s *SMTPSender) failure(ctx context.Context, step string, err error, to *netmail.Address) error {
	if ctx.Err() != nil {
		return fmt.Errorf("mail: send via %s: %w", s.url.Addr(), context.Cause(ctx))
	}
	if se, ok := errors.AsType[stepError](err); ok {
		step, err = se.step, se.err
	}
	reply, ok := errors.AsType[*textproto.Error](err)
	if !ok {
		// Network, TLS and go-mail's own errors, which never quote the recipient.
		return fmt.Errorf("mail: send via %s: %s: %w", s.url.Addr(), step, err)
	}
	// The reply itself is not wrapped: its text may quote the recipient unmasked.
	text := maskAddress(err.Error(), to.Address)
	if permanent(step, reply.Code) {
		return fmt.Errorf("mail: send via %s: %w: %s: %s", s.url.Addr(), ErrRejected, step, text)
	}
	return fmt.Errorf("mail: send via %s: %s: %s", s.url.Addr(), step, text)
}

// permanent reports whether a reply is final for this message. Only replies about the
// message itself count: a 5xx to RCPT TO (unknown mailbox) or to DATA (content
// refused). A 5xx to MAIL FROM or AUTH is the configuration's fault, and retrying gives
// an operator time to fix it. RFC 5321 §4.5.3.1.10 asks that 552 to RCPT TO (mailbox
// full) be treated as temporary.
func permanent(step string, code int) bool {
	if code < 500 || code > 599 {
		return false
	}
	switch step {
	case "RCPT TO":
		return code != 552
	case "DATA", "end of DATA":
		return true
	}
	return false
}

// maxReplyText bounds how much of a server's reply an error repeats.
const maxReplyText = 200

// maskAddress prepares a server's reply text for an error: it replaces the recipient's
// address (servers like to quote it) by its domain alone, joins lines and bounds the
// length.
func maskAddress(text, addr string) string {
	re := regexp.MustCompile("(?i)" + regexp.QuoteMeta(addr))
	text = re.ReplaceAllLiteralString(text, "…@"+domainOf(addr))
	text = strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, text)
	if r := []rune(text); len(r) > maxReplyText {
		text = string(r[:maxReplyText]) + "…"
	}
	return text
}

// tlsOnlyAuth authenticates with PLAIN, or LOGIN where the server lacks PLAIN, and
// refuses to start without TLS. go-mail's own PLAIN and LOGIN would send the password
// in the clear to a server named localhost or 127.0.0.1; this never does.
type tlsOnlyAuth struct {
	user, pass, host string
	mech             gosmtp.Auth
}

func (a *tlsOnlyAuth) Start(server *gosmtp.ServerInfo) (string, []byte, error) {
	if !server.TLS {
		return "", nil, errors.New("refusing to authenticate over a connection without TLS")
	}
	switch {
	case slices.Contains(server.Auth, "PLAIN"):
		a.mech = gosmtp.PlainAuth("", a.user, a.pass, a.host, false)
	case slices.Contains(server.Auth, "LOGIN"):
		a.mech = gosmtp.LoginAuth(a.user, a.pass, a.host, false)
	default:
		return "", nil, fmt.Errorf("the server offers no authentication mechanism identityd uses "+
			"(PLAIN, LOGIN); it offers %q", strings.Join(server.Auth, " "))
	}
	return a.mech.Start(server)
}

func (a *tlsOnlyAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.mech.Next(fromServer, more)
}

// closer holds the connection of one Send, to close it from another goroutine when the
// Send's context ends. Closing is safe at any time and more than once.
type closer struct {
	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

// set records c, or closes it and reports false when closing came first.
func (cl *closer) set(c net.Conn) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closed {
		_ = c.Close()
		return false
	}
	cl.conn = c
	return true
}

func (cl *closer) close() {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.closed = true
	if cl.conn != nil {
		_ = cl.conn.Close()
	}
}

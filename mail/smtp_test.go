package mail_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	netmail "net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/identityd/identityd/mail"
	"github.com/identityd/identityd/mail/mailtest"
)

func TestSTARTTLSWithAuthDeliversACompleteMessage(t *testing.T) {
	srv := mailtest.NewServer(t)
	s := newSender(t, srv.URL(), srv.ClientTLS())
	m := testMessage("tok-starttls")
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := next(t, srv)

	if !r.TLS || r.Username != mailtest.User {
		t.Errorf("delivered with TLS %v as %q, want TLS as %q", r.TLS, r.Username, mailtest.User)
	}
	if auths := srv.AuthAttempts(); len(auths) != 1 || auths[0].Mechanism != "PLAIN" || !auths[0].TLS || !auths[0].OK {
		t.Errorf("auth attempts %+v, want one successful PLAIN over TLS", auths)
	}
	if r.From != "no-reply@id.example.com" || !slices.Equal(r.To, []string{"zoe.mueller@example.org"}) {
		t.Errorf("envelope from %q to %v", r.From, r.To)
	}
	if r.Subject != m.Subject {
		t.Errorf("subject %q, want %q", r.Subject, m.Subject)
	}
	if raw := r.Header.Get("Subject"); !strings.Contains(raw, "=?UTF-8?") {
		t.Errorf("raw subject %q is not an encoded word", raw)
	}
	from, err := r.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Identität Server" || from[0].Address != "no-reply@id.example.com" {
		t.Errorf("From header %q parses as %v, %v", r.Header.Get("From"), from, err)
	}
	to, err := r.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Zoë Müller" || to[0].Address != "zoe.mueller@example.org" {
		t.Errorf("To header %q parses as %v, %v", r.Header.Get("To"), to, err)
	}
	if date, err := r.Header.Date(); err != nil || time.Since(date).Abs() > time.Minute {
		t.Errorf("Date header %q: %v, %v", r.Header.Get("Date"), date, err)
	}
	if id := r.Header.Get("Message-Id"); !regexp.MustCompile(`^<[0-9a-f]{32}@id\.example\.com>$`).MatchString(id) {
		t.Errorf("Message-ID %q, want 128 random bits at the sender's domain", id)
	}
	if got := r.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted %q", got)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
		t.Errorf("Content-Type %q, want multipart/alternative", ct)
	}
	if r.Text != m.Text {
		t.Errorf("text body\n%q\nwant\n%q", r.Text, m.Text)
	}
	if r.HTML != m.HTML {
		t.Errorf("HTML body\n%q\nwant\n%q", r.HTML, m.HTML)
	}
	for i, b := range r.Raw {
		if b >= 0x80 {
			t.Fatalf("raw message has a non-ASCII byte at %d: everything should be encoded", i)
		}
	}
}

func TestImplicitTLSDelivers(t *testing.T) {
	srv := mailtest.NewServer(t)
	s := newSender(t, srv.TLSURL(), srv.ClientTLS())
	m := testMessage("tok-implicit")
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := next(t, srv)
	if !r.TLS || r.Username != mailtest.User || r.Text != m.Text {
		t.Errorf("received %+v over TLS %v", r, r.TLS)
	}
}

func TestLOGINIsUsedWhenPLAINIsNotOffered(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.WithAuthMechanisms("LOGIN"))
	s := newSender(t, srv.URL(), srv.ClientTLS())
	if err := s.Send(context.Background(), testMessage("tok-login")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	next(t, srv)
	if auths := srv.AuthAttempts(); len(auths) != 1 || auths[0].Mechanism != "LOGIN" || !auths[0].TLS || !auths[0].OK {
		t.Errorf("auth attempts %+v, want one successful LOGIN over TLS", auths)
	}
}

func TestPlaintextURLSendsWithoutTLSOrCredentials(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.WithoutTLS())
	s := newSender(t, srv.PlaintextURL(), nil)
	m := testMessage("tok-plain")
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := next(t, srv)
	if r.TLS || r.Username != "" || r.Text != m.Text || r.Subject != m.Subject {
		t.Errorf("received %+v", r)
	}
	if auths := srv.AuthAttempts(); len(auths) != 0 {
		t.Errorf("auth attempts %+v over a plaintext URL", auths)
	}
}

// A server (or a man in the middle) that does not offer STARTTLS gets nothing: no
// credentials, no message. It advertises AUTH in the clear, as bait.
func TestWithoutSTARTTLSNothingIsSentInTheClear(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.WithoutTLS())
	s := newSender(t, srv.URL(), srv.ClientTLS())
	err := s.Send(context.Background(), testMessage("tok-downgrade"))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send to a server without STARTTLS: %v, want a refusal naming STARTTLS", err)
	}
	if errors.Is(err, mail.ErrRejected) {
		t.Error("a missing STARTTLS is reported as a permanent rejection; it is the server's configuration")
	}
	if strings.Contains(err.Error(), mailtest.Password) {
		t.Errorf("error %q contains the password", err)
	}
	if auths := srv.AuthAttempts(); len(auths) != 0 {
		t.Errorf("credentials were sent without TLS: %+v", auths)
	}
	if msgs := srv.Messages(); len(msgs) != 0 {
		t.Errorf("%d messages were delivered without TLS", len(msgs))
	}
}

// A certificate that does not verify ends the attempt: there is no fallback to
// plaintext, on either TLS mode.
func TestAnUntrustedCertificateEndsTheAttempt(t *testing.T) {
	srv := mailtest.NewServer(t)
	for name, url := range map[string]string{"starttls": srv.URL(), "implicit": srv.TLSURL()} {
		t.Run(name, func(t *testing.T) {
			s := newSender(t, url, nil) // the system roots do not know the test CA
			err := s.Send(context.Background(), testMessage("tok-untrusted"))
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("Send: %v, want a certificate error", err)
			}
		})
	}
	if auths := srv.AuthAttempts(); len(auths) != 0 {
		t.Errorf("credentials were sent to an unverified server: %+v", auths)
	}
	if msgs := srv.Messages(); len(msgs) != 0 {
		t.Errorf("%d messages were delivered to an unverified server", len(msgs))
	}
}

// hostileServer is an SMTP server that offers STARTTLS and AUTH, then answers STARTTLS
// with "454 TLS not available", as a man in the middle stripping TLS would. It records
// every command it is sent.
type hostileServer struct {
	l net.Listener

	mu       sync.Mutex
	commands []string
}

func newHostileServer(t *testing.T) *hostileServer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostileServer{l: l}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { h.serve(c) })
		}
	})
	t.Cleanup(func() { _ = l.Close(); wg.Wait() })
	return h
}

func (h *hostileServer) serve(c net.Conn) {
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	w := bufio.NewWriter(c)
	reply := func(s string) { _, _ = w.WriteString(s + "\r\n"); _ = w.Flush() }
	reply("220 hostile ESMTP")
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		cmd := sc.Text()
		h.mu.Lock()
		h.commands = append(h.commands, cmd)
		h.mu.Unlock()
		switch verb, _, _ := strings.Cut(strings.ToUpper(cmd), " "); verb {
		case "EHLO":
			reply("250-hostile\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME")
		case "STARTTLS":
			reply("454 4.7.0 TLS not available")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("250 ok") // would take credentials and mail, if offered
		}
	}
}

func (h *hostileServer) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.commands)
}

func TestARefusedSTARTTLSEndsTheAttempt(t *testing.T) {
	h := newHostileServer(t)
	s := newSender(t, "smtp://"+mailtest.User+":hunter2-secret@"+h.l.Addr().String(), nil)
	err := s.Send(context.Background(), testMessage("tok-stripped"))
	if err == nil {
		t.Fatal("Send succeeded over a connection whose STARTTLS was refused")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q contains the password", err)
	}
	for _, cmd := range h.seen() {
		verb, _, _ := strings.Cut(strings.ToUpper(cmd), " ")
		if verb != "EHLO" && verb != "STARTTLS" && verb != "QUIT" {
			t.Errorf("client sent %q after STARTTLS was refused", cmd)
		}
	}
}

func TestRejectionsArePermanentOnlyFor5xxToTheMessage(t *testing.T) {
	srv := mailtest.NewServer(t)
	s := newSender(t, srv.URL(), srv.ClientTLS())
	for _, tc := range []struct {
		code      int
		permanent bool
	}{
		{550, true},
		{553, true},
		{451, false},
		{452, false},
		{552, false}, // RFC 5321 §4.5.3.1.10: "mailbox full" at RCPT TO is temporary
	} {
		srv.FailNext(1, tc.code)
		err := s.Send(context.Background(), testMessage("tok-reject"))
		if err == nil {
			t.Fatalf("%d: Send succeeded", tc.code)
		}
		if errors.Is(err, mail.ErrRejected) != tc.permanent {
			t.Errorf("%d: %v; permanent %v, want %v", tc.code, err, !tc.permanent, tc.permanent)
		}
		// The server quotes the recipient; the error must not.
		if msg := err.Error(); strings.Contains(msg, "zoe.mueller") || !strings.Contains(msg, "example.org") ||
			!strings.Contains(msg, "RCPT TO") {
			t.Errorf("%d: error %q should name the step and the recipient's domain only", tc.code, msg)
		}
	}
	if got := srv.Rejected(); got != 5 {
		t.Errorf("server refused %d deliveries, want 5", got)
	}
	if err := s.Send(context.Background(), testMessage("tok-after")); err != nil {
		t.Fatalf("Send after the failures: %v", err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 {
		t.Errorf("%d messages delivered, want 1", len(msgs))
	}
}

func TestAWrongPasswordIsAnErrorWithoutThePassword(t *testing.T) {
	srv := mailtest.NewServer(t)
	url := strings.Replace(srv.URL(), "staple", "stapler-wrong", 1)
	s := newSender(t, url, srv.ClientTLS())
	err := s.Send(context.Background(), testMessage("tok-wrong"))
	if err == nil || errors.Is(err, mail.ErrRejected) {
		t.Fatalf("Send with a wrong password: %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), "stapler-wrong") || strings.Contains(err.Error(), "horse") {
		t.Errorf("error %q contains the password", err)
	}
	if auths := srv.AuthAttempts(); len(auths) != 1 || auths[0].OK || !auths[0].TLS {
		t.Errorf("auth attempts %+v, want one failed over TLS", auths)
	}
	if len(srv.Messages()) != 0 {
		t.Error("a message was delivered without authentication")
	}
}

// silentServer accepts connections and never says a word.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

func TestASilentServerTimesOut(t *testing.T) {
	addr := silentServer(t)
	s, err := mail.NewSMTPSender(mail.SMTPConfig{URL: "smtp://" + addr, From: testFrom, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.Send(context.Background(), testMessage("tok-silent"))
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Send took %v with a 300ms timeout", took)
	}
	if err == nil || errors.Is(err, mail.ErrRejected) {
		t.Fatalf("Send to a silent server: %v, want a retryable error", err)
	}
}

func TestSendStopsWhenItsContextEnds(t *testing.T) {
	addr := silentServer(t)
	s, err := mail.NewSMTPSender(mail.SMTPConfig{URL: "smtp://" + addr, From: testFrom, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Send(ctx, testMessage("tok-cancel"))
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Send took %v after its context ended at 200ms", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send: %v, want the context's error", err)
	}
}

func TestSendRefusesHeaderInjection(t *testing.T) {
	srv := mailtest.NewServer(t)
	s := newSender(t, srv.URL(), srv.ClientTLS())
	for name, m := range map[string]mail.Message{
		"to":      {To: "zoe@example.org\r\nBcc: all@example.net", Subject: "Hello", Text: "x"},
		"to lf":   {To: "zoe@example.org\nBcc: all@example.net", Subject: "Hello", Text: "x"},
		"subject": {To: "zoe@example.org", Subject: "Hello\r\nBcc: all@example.net", Text: "x"},
		"two to":  {To: "zoe@example.org, all@example.net", Subject: "Hello", Text: "x"},
	} {
		if err := s.Send(context.Background(), m); err == nil {
			t.Errorf("%s: Send accepted %q / %q", name, m.To, m.Subject)
		}
	}
	if len(srv.Messages()) != 0 || srv.AuthAttempts() != nil {
		t.Error("the server was contacted for an invalid message")
	}
}

func TestNewSMTPSenderChecksItsConfiguration(t *testing.T) {
	const secret = "pw-s3cret"
	good := mail.SMTPConfig{URL: "smtp://u:" + secret + "@mail.example.com", From: "identityd <no-reply@example.com>"}
	if _, err := mail.NewSMTPSender(good); err != nil {
		t.Fatalf("good configuration: %v", err)
	}
	for name, change := range map[string]func(c *mail.SMTPConfig){
		"bad url":         func(c *mail.SMTPConfig) { c.URL = "smtp://u:" + secret + "@mail.example.com:99999" },
		"wrong scheme":    func(c *mail.SMTPConfig) { c.URL = "https://u:" + secret + "@mail.example.com" },
		"no from":         func(c *mail.SMTPConfig) { c.From = "" },
		"from list":       func(c *mail.SMTPConfig) { c.From = "a@example.com, b@example.com" },
		"from injection":  func(c *mail.SMTPConfig) { c.From = "a@example.com\r\nBcc: b@example.com" },
		"negative":        func(c *mail.SMTPConfig) { c.Timeout = -time.Second },
		"too long":        func(c *mail.SMTPConfig) { c.Timeout = mail.MaxTimeout + time.Second },
		"skip verify":     func(c *mail.SMTPConfig) { c.TLSConfig = &tls.Config{InsecureSkipVerify: true} },
		"from not a mail": func(c *mail.SMTPConfig) { c.From = "identityd" },
	} {
		cfg := good
		change(&cfg)
		_, err := mail.NewSMTPSender(cfg)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error %q contains the password", name, err)
		}
		if !strings.HasPrefix(err.Error(), "mail: smtp: ") {
			t.Errorf("%s: error %q lacks its context", name, err)
		}
	}
}

// The message a sender composes parses back with the standard library's reader,
// whatever the name in From.
func TestFromAddressesWithNamesRoundTrip(t *testing.T) {
	srv := mailtest.NewServer(t)
	for _, from := range []string{"no-reply@example.com", `"Example, Inc." <no-reply@example.com>`, "Ünïcödé <no-reply@example.com>"} {
		want, err := netmail.ParseAddress(from)
		if err != nil {
			t.Fatal(err)
		}
		s, err := mail.NewSMTPSender(mail.SMTPConfig{URL: srv.URL(), From: from, TLSConfig: srv.ClientTLS()})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(context.Background(), testMessage("tok-from")); err != nil {
			t.Fatal(err)
		}
		r := next(t, srv)
		got, err := r.Header.AddressList("From")
		if err != nil || len(got) != 1 || *got[0] != *want {
			t.Errorf("From %q arrived as %q: %v, %v", from, r.Header.Get("From"), got, err)
		}
	}
}

func TestAServerWithoutPLAINOrLOGINGetsNoCredentials(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.WithAuthMechanisms())
	s := newSender(t, srv.URL(), srv.ClientTLS())
	err := s.Send(context.Background(), testMessage("tok-no-mech"))
	if err == nil || !strings.Contains(err.Error(), "no authentication mechanism") {
		t.Fatalf("Send: %v, want a refusal naming the missing mechanism", err)
	}
	if len(srv.AuthAttempts()) != 0 || len(srv.Messages()) != 0 {
		t.Error("the server was sent credentials or a message")
	}
}

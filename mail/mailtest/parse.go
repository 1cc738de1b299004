package mailtest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// parse reads a received message: its header, and its text/plain and text/html bodies
// from a single part or a multipart/alternative (or mixed) body, one level deep.
func parse(raw []byte) (Received, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Received{}, fmt.Errorf("read message: %w", err)
	}
	r := Received{Header: msg.Header, Raw: raw}
	var dec mime.WordDecoder
	if r.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Received{}, fmt.Errorf("decode subject: %w", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return Received{}, fmt.Errorf("content type: %w", err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		if err := r.addPart(mediaType, params, msg.Header.Get("Content-Transfer-Encoding"), msg.Body); err != nil {
			return Received{}, err
		}
		return r, nil
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		// Raw parts, so the decoding below is ours to check rather than done silently.
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return r, nil
		}
		if err != nil {
			return Received{}, fmt.Errorf("multipart: %w", err)
		}
		partType, partParams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			return Received{}, fmt.Errorf("part content type: %w", err)
		}
		if err := r.addPart(partType, partParams, p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
			return Received{}, err
		}
	}
}

// addPart decodes one body part into Text or HTML; other types are left out.
func (r *Received) addPart(mediaType string, params map[string]string, encoding string, body io.Reader) error {
	if mediaType != "text/plain" && mediaType != "text/html" {
		return nil
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		return fmt.Errorf("%s part in charset %q; only UTF-8 is expected", mediaType, cs)
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // ignores line breaks
	case "", "7bit", "8bit":
	default:
		return fmt.Errorf("%s part in unknown transfer encoding %q", mediaType, encoding)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("decode %s part: %w", mediaType, err)
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	if mediaType == "text/plain" {
		r.Text = text
	} else {
		r.HTML = text
	}
	return nil
}

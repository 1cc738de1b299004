package redact

import (
	"net/http"
	"net/url"
	"strings"
)

// Query returns a copy of q in which every value of a sensitive parameter is Redacted.
// A parameter keeps its number of values, so the log still shows it was repeated. The
// input is not modified; a nil q gives nil.
func Query(q url.Values) url.Values {
	if q == nil {
		return nil
	}
	out := make(url.Values, len(q))
	for name, values := range q {
		out[name] = redactValues(name, values)
	}
	return out
}

// Header returns a copy of h in which every value of a sensitive header is Redacted:
// Authorization, Proxy-Authorization, Cookie and Set-Cookie, and any other header whose
// name IsSensitive (X-Api-Key, X-Auth-Token). The input is not modified; a nil h gives
// nil.
func Header(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for name, values := range h {
		// The four standard credential headers need no list of their own: their names
		// contain "authorization" or "cookie".
		out[name] = redactValues(name, values)
	}
	return out
}

func redactValues(name string, values []string) []string {
	if values == nil {
		return nil
	}
	out := make([]string, len(values))
	if IsSensitive(name) {
		for i := range out {
			out[i] = Redacted
		}
	} else {
		copy(out, values)
	}
	return out
}

// RequestURI returns the path and query of u as an access log shows them, with the
// values of sensitive query parameters replaced by Redacted (written as is, not
// percent-encoded, so it reads the same everywhere). The query is rewritten parameter by
// parameter, keeping the order and encoding of everything else, and u's fragment and
// user information are never included. A nil u gives "".
//
// Parameters are split on ';' as well as '&' (some servers and proxies treat ';' as a
// separator, and Go drops such parameters when parsing), and a parameter whose name
// cannot be decoded is redacted: a value is only shown when its name is known to be
// harmless.
func RequestURI(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.RawQuery = redactRawQuery(u.RawQuery)
	return c.RequestURI()
}

func redactRawQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); {
		end := strings.IndexAny(raw[i:], "&;")
		if end < 0 {
			end = len(raw)
		} else {
			end += i
		}
		b.WriteString(redactParameter(raw[i:end]))
		if end < len(raw) {
			b.WriteByte(raw[end])
		}
		i = end + 1
	}
	return b.String()
}

// redactParameter redacts one name=value pair of a raw query. A name without "=" has no
// value to hide.
func redactParameter(param string) string {
	rawName, _, hasValue := strings.Cut(param, "=")
	if !hasValue {
		return param
	}
	name, err := url.QueryUnescape(rawName)
	if err != nil || IsSensitive(name) {
		return rawName + "=" + Redacted
	}
	return param
}

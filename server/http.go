package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/factory-dev/factory"
	"github.com/mark3labs/mcp-go/server"
)

// HTTPConfig configures the Streamable HTTP transport.
type HTTPConfig struct {
	Addr  string // host:port to bind; required. Loopback unless Token is set explicitly.
	Token string // bearer token; "" generates one (reported by Serve's ready callback)
	// TokenFromEnv records that Token was given by the user (FACTORY_TOKEN),
	// which is required to bind a non-loopback address.
	TokenFromEnv bool
	MaxBody      int64         // request body cap in bytes; 0 means 4 MiB
	ReadTimeout  time.Duration // 0 means 30s (headers and body)
	WriteTimeout time.Duration // 0 means 0: tool calls may stream for long; idle and header timeouts still apply
}

// GenerateToken returns a fresh random bearer token.
func GenerateToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ServeHTTP serves Streamable HTTP at /mcp on cfg.Addr until ctx ends.
// ready, if not nil, is called with the bound address once listening.
func (s *Server) ServeHTTP(ctx context.Context, cfg HTTPConfig, ready func(addr string)) error {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return factory.Errorf(factory.EINVALID, "--http %q: want host:port, e.g. 127.0.0.1:7777", cfg.Addr)
	}
	if !isLoopback(host) && !cfg.TokenFromEnv {
		return factory.Errorf(factory.EINVALID, "refusing to serve on non-loopback address %s without a token: set FACTORY_TOKEN, or bind 127.0.0.1", cfg.Addr)
	}
	if cfg.Token == "" {
		return factory.Errorf(factory.EINVALID, "no bearer token")
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return factory.Errorf(factory.EUNAVAILABLE, "listen on %s: %v", cfg.Addr, err)
	}
	h := s.HTTPHandler(cfg, ln.Addr().String())
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       orDefault(cfg.ReadTimeout, 30*time.Second),
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		s.runs.endAll(sctx)
		return nil
	case err := <-errc:
		s.runs.endAll(context.Background())
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// HTTPHandler returns the /mcp handler behind the safety checks: Host must
// name the bound address, a browser Origin must be a loopback origin, the
// bearer token must match, and the body must fit the cap. A refused request
// never reaches the MCP server, so no step is recorded for it.
func (s *Server) HTTPHandler(cfg HTTPConfig, bound string) http.Handler {
	stream := server.NewStreamableHTTPServer(s.mcp,
		server.WithEndpointPath("/mcp"),
		server.WithStreamableHTTPLogger(s.log),
	)
	maxBody := cfg.MaxBody
	if maxBody == 0 {
		maxBody = 4 << 20
	}
	want := []byte("Bearer " + cfg.Token)
	allowedHosts := hostsFor(bound)
	mux := http.NewServeMux()
	mux.Handle("/mcp", stream)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowedHosts[strings.ToLower(r.Host)] {
			http.Error(w, fmt.Sprintf("misdirected request: Host %q is not this server (%s)", r.Host, bound), http.StatusMisdirectedRequest)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !loopbackOrigin(o) {
			http.Error(w, "forbidden: Origin "+o+" is not a loopback origin", http.StatusForbidden)
			return
		}
		if got := []byte(r.Header.Get("Authorization")); subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="factory"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <token> (the token factory printed at start, or FACTORY_TOKEN)", http.StatusUnauthorized)
			return
		}
		if r.ContentLength > maxBody {
			http.Error(w, fmt.Sprintf("request body too large: %d bytes, limit %d", r.ContentLength, maxBody), http.StatusRequestEntityTooLarge)
			return
		}
		// A body of unknown length (chunked) is cut at the cap as it is
		// read: the MCP server's read then fails, and it answers a parse
		// error saying the body is too large. Nothing is buffered here.
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		mux.ServeHTTP(w, r)
	})
}

// hostsFor lists the Host header values that name the bound address: the
// address itself and, on loopback, localhost and the loopback IPs with the
// same port.
func hostsFor(bound string) map[string]bool {
	host, port, _ := net.SplitHostPort(bound)
	out := map[string]bool{strings.ToLower(bound): true}
	if isLoopback(host) {
		for _, h := range []string{"localhost", "127.0.0.1", "[::1]"} {
			out[h+":"+port] = true
		}
	}
	return out
}

func isLoopback(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func loopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return isLoopback(u.Hostname())
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

package factory

import (
	"errors"
	"fmt"
)

// Error codes. A code says who can act on the failure: the caller (EINVALID,
// ENOTFOUND, ECONFLICT, ETIMEOUT, EUNAVAILABLE) or nobody but a developer of
// factory (EINTERNAL).
const (
	EINVALID     = "invalid"     // bad argument or input; the message says what to send instead
	ENOTFOUND    = "not_found"   // unknown id, path or name
	ECONFLICT    = "conflict"    // the workspace is not in the state the request assumed
	ETIMEOUT     = "timeout"     // a limit of time ran out
	EUNAVAILABLE = "unavailable" // a feature this machine lacks (no bwrap, no FTS5, ...)
	EINTERNAL    = "internal"    // a bug or an unexpected fault of the machine
)

// Error is factory's error type. Message is written for the agent: it says
// what went wrong and what to do next. Op is a short prefix ("apply patch
// x.go") added by Wrap; Err is the underlying cause, if any.
type Error struct {
	Code    string
	Message string
	Op      string
	Err     error
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Op != "" {
		return e.Op + ": " + msg
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports a match on Code, so errors.Is(err, &Error{Code: ENOTFOUND}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == "" && t.Op == ""
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap prefixes err with op, keeping its code. A nil err returns nil. An err
// that is not an *Error becomes EINTERNAL.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return &Error{Code: fe.Code, Message: fe.Error(), Op: op, Err: err}
	}
	return &Error{Code: EINTERNAL, Message: err.Error(), Op: op, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of err without internal detail for
// EINTERNAL errors (which callers log instead of showing).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Error()
	}
	return "internal error"
}

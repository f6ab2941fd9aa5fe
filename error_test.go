package factory_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
)

func TestErrorCodesSurviveWrapping(t *testing.T) {
	base := factory.Errorf(factory.ENOTFOUND, "snapshot %q not found; list them with snapshot_list", "s-abc")
	wrapped := fmt.Errorf("outer: %w", factory.Wrap("restore", base))

	assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(wrapped))
	assert.True(t, errors.Is(wrapped, &factory.Error{Code: factory.ENOTFOUND}))
	assert.False(t, errors.Is(wrapped, &factory.Error{Code: factory.EINVALID}))
	assert.Equal(t, `restore: snapshot "s-abc" not found; list them with snapshot_list`, factory.ErrorMessage(factory.Wrap("restore", base)))
}

func TestPlainErrorsAreInternalAndHidden(t *testing.T) {
	err := factory.Wrap("open db", errors.New("disk I/O error at /secret/path"))
	assert.Equal(t, factory.EINTERNAL, factory.ErrorCode(err))
	assert.Equal(t, "", factory.ErrorCode(nil))
	assert.Equal(t, "internal error", factory.ErrorMessage(errors.New("raw")))
	assert.Nil(t, factory.Wrap("x", nil))
}

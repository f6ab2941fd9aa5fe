package main

import (
	"context"
	"errors"
)

func runInit(ctx context.Context, env *cliEnv, args []string) error {
	return errors.New("not wired yet")
}

func runCheck(ctx context.Context, env *cliEnv, args []string) error {
	return errors.New("not wired yet")
}

func runSnapshot(ctx context.Context, env *cliEnv, args []string) error {
	return errors.New("not wired yet")
}

package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// UpTemp brings up a lab as Up does, in a new temporary directory whose
// name starts with name (o.Dir is ignored), for a benchmark that keeps
// nothing. The returned down stops the lab's daemons, tears it down
// within 2 minutes whatever ctx has become, and removes the directory;
// it returns the teardown's error. Errors: those of os.MkdirTemp and Up.
func UpTemp(ctx context.Context, name string, o Options) (l *Lab, down func() error, err error) {
	dir, err := os.MkdirTemp("", name+".")
	if err != nil {
		return nil, nil, fmt.Errorf("lab up: %w", err)
	}
	o.Dir = dir
	if l, err = Up(ctx, o); err != nil {
		return nil, nil, errors.Join(err, os.RemoveAll(dir))
	}
	down = func() error {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if err := l.Down(dctx); err != nil {
			return fmt.Errorf("lab down: %w", err)
		}
		return os.RemoveAll(dir)
	}
	return l, down, nil
}

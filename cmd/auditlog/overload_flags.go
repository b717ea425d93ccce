package main

import (
	"fmt"
	"strconv"
)

// Int registers an integer flag whose default comes from env.
func (e *envFlags) Int(p *int, name, env, usage string) {
	if v, ok := e.env(env); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s=%q: not an integer", env, v))
		}
		*p = n
	}
	e.fs.IntVar(p, name, *p, fmt.Sprintf("%s (%s)", usage, env))
}

// Command apex simulates, plans, trains, evaluates, benchmarks and views
// robot control policies: iCEM/iCEMπ planning with Adaptive Policy EXtraction
// (Pinneri et al., ICLR 2021) on a batched CPU or WebGPU physics engine.
//
// Usage: apex COMMAND [flags]; `apex help COMMAND` describes one command.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// command is one sub-command.
type command struct {
	name    string
	summary string
	usage   string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// usageError is a bad flag or argument: exit code 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// newFlags returns a FlagSet for a command that reports errors instead of exiting.
func newFlags(c *command, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: apex %s\n\n%s\n\nFlags:\n%s", c.usage, c.summary, fs.FlagUsages())
	}
	return fs
}

// parse parses args, turning flag errors into usage errors.
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		printHelp(stdout)
		return 0
	}
	name := args[0]
	if name == "help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				_ = c.run([]string{"--help"}, stdout, stdout)
				return 0
			}
			fmt.Fprintf(stderr, "apex: unknown command %q\n", args[1])
			return 2
		}
		printHelp(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "apex: unknown command %q (run 'apex help')\n", name)
		return 2
	}
	err := c.run(args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "apex %s: %v\n", name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "apex %s: %v\n", name, err)
		return 1
	}
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "apex: GPU-accelerated batch planning and Adaptive Policy EXtraction (iCEM/iCEMπ + DAgger).")
	fmt.Fprintln(w, "\nUsage: apex COMMAND [flags]\n\nCommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'apex help COMMAND' for a command's flags.")
}

// parseFloats reads "v,v,..." for the flag named flag.
func parseFloats(flag, s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		var v float64
		if _, err := fmt.Sscan(strings.TrimSpace(f), &v); err != nil {
			return nil, usagef("--%s: %q is not a number", flag, f)
		}
		if v != v || v > 1e308 || v < -1e308 {
			return nil, usagef("--%s: %q is not finite", flag, f)
		}
		out = append(out, v)
	}
	return out, nil
}

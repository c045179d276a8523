// Command apex simulates, plans, trains, evaluates, benchmarks and views
// robot control policies: iCEM/iCEMπ planning with Adaptive Policy EXtraction
// (Pinneri et al., ICLR 2021) on a batched CPU or WebGPU physics engine.
//
// Usage: apex COMMAND [flags]; `apex help COMMAND` describes one command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
)

// command is one sub-command.
type command struct {
	name    string
	summary string
	usage   string
	// takesArgs: the command reads positional arguments (fs.Args()); for
	// every other command parse refuses them, so that `apex train door`
	// is a usage error instead of a HalfCheetah run.
	takesArgs bool
	run       func(args []string, stdout, stderr io.Writer) error
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

// helpRequested is parse's answer to --help / -h: run prints the text on
// stdout and exits 0. It wraps pflag.ErrHelp.
type helpRequested struct{ text string }

func (h helpRequested) Error() string { return pflag.ErrHelp.Error() }
func (h helpRequested) Unwrap() error { return pflag.ErrHelp }

// newFlags returns a FlagSet for a command that reports errors instead of
// exiting or printing: parse turns --help into helpRequested and other flag
// errors into usage errors, and run prints them (help on stdout, errors on
// stderr).
func newFlags(c *command, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	return fs
}

// usageText is a command's help: usage line, summary and flags.
func usageText(c *command, fs *pflag.FlagSet) string {
	return fmt.Sprintf("Usage: apex %s\n\n%s\n\nFlags:\n%s", c.usage, c.summary, fs.FlagUsages())
}

// parse parses args, turning flag errors into usage errors, --help into
// helpRequested, and positional arguments of a command that takes none
// into a usage error.
func parse(fs *pflag.FlagSet, args []string) error {
	c := commands[fs.Name()]
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			if c == nil {
				return err
			}
			return helpRequested{usageText(c, fs)}
		}
		return usageError{err}
	}
	if c != nil && !c.takesArgs && fs.NArg() > 0 {
		return usagef("unexpected argument %q: apex %s takes only flags (see apex %s --help)", fs.Arg(0), c.name, c.name)
	}
	return nil
}

// interruptContext returns a context cancelled by Ctrl-C (SIGINT) or
// SIGTERM. While it is active those signals do not kill the process: the
// command stops at its next check of the context, its deferred clean-ups
// remove its temporary files, and no old output is replaced. stop restores
// the default handling.
func interruptContext() (ctx context.Context, stop context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// errInterrupted reports an interrupted command; outputs were left as they
// were.
func errInterrupted(ctx context.Context) error {
	return fmt.Errorf("interrupted; no output file was replaced: %w", context.Cause(ctx))
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	// run returns only after the command's deferred clean-ups have run.
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit status: 0 success
// (and help), 1 failure, 2 usage error.
func run(args []string, stdout, stderr io.Writer) (code int) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		printHelp(stdout)
		return 0
	}
	name := args[0]
	if name == "help" {
		if len(args) > 2 {
			fmt.Fprintf(stderr, "apex help: want one command, got %d\n", len(args)-1)
			return 2
		}
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				var h helpRequested
				if err := c.run([]string{"--help"}, stdout, stderr); errors.As(err, &h) {
					fmt.Fprint(stdout, h.text)
				}
				return 0
			}
			fmt.Fprintf(stderr, "apex: unknown command %q (run 'apex help')\n", args[1])
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
	// A panic is a bug, but still a failure (exit 1), not the usage-error
	// code Go's runtime would exit with.
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "apex %s: internal error: %v\n%s", name, p, debug.Stack())
			code = 1
		}
	}()
	err := c.run(args[1:], stdout, stderr)
	var help helpRequested
	switch {
	case err == nil:
		return 0
	case errors.As(err, &help):
		fmt.Fprint(stdout, help.text)
		return 0
	case errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "apex %s: %v\nRun 'apex %s --help' for its flags.\n", name, err, name)
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

// parseFloats reads "v,v,..." for the flag named flag. Each entry must be
// one finite number and nothing else ("1abc", "1.5.5", "1 2" and empty
// entries are usage errors naming the entry).
func parseFloats(flag, s string) ([]float64, error) {
	var out []float64
	for i, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		var ne *strconv.NumError
		switch {
		case errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange):
			return nil, usagef("--%s: entry %d, %q, is out of range", flag, i+1, f)
		case err != nil:
			return nil, usagef("--%s: entry %d, %q, is not a number", flag, i+1, f)
		case math.IsNaN(v) || math.IsInf(v, 0):
			return nil, usagef("--%s: entry %d, %q, is not finite", flag, i+1, f)
		}
		out = append(out, v)
	}
	return out, nil
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// usageError is a command line meterbridge cannot act on: an unknown command or flag, a
// missing or invalid flag value. main prints it with a pointer to the command's help and
// exits 2, as flag.ExitOnError programs do.
type usageError struct {
	// cmd is the command as typed ("token create"); "" for the top level.
	cmd string
	msg string
}

func (e *usageError) Error() string { return e.msg }

// usagef returns a usage error of cmd. Messages name the flag they are about ("-tenant is
// required"), so a person sees at once what to change.
func usagef(cmd, format string, a ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, a...)}
}

// exitCode is the process status for what run returned: 0 for success and for help asked
// for with -h, 2 for usage errors, 1 for everything that failed while running.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// report prints what went wrong (nothing for success or help) and returns the exit code.
func report(err error, w io.Writer) int {
	code := exitCode(err)
	if code == 0 {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		name := strings.TrimSpace("meterbridge " + ue.cmd)
		fmt.Fprintf(w, "%s: %s\nrun '%s -h' for usage\n", name, ue.msg, name)
		return code
	}
	fmt.Fprintln(w, "meterbridge:", err)
	return code
}

// newFlags returns the flag set of one command. args names its positional arguments in the
// usage line ("" when it takes none); about says what the command does.
func newFlags(cmd, args, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		line := "usage: meterbridge " + cmd
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			line += " [flags]"
		}
		if args != "" {
			line += " " + args
		}
		fmt.Fprintf(w, "%s\n\n%s\n", line, strings.TrimSpace(about))
		if hasFlags {
			fmt.Fprintln(w, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args into fs. -h prints the command's help on standard output and
// returns flag.ErrHelp; any other problem is a usage error naming the flag (the flag
// package's own messages do: "flag provided but not defined: -x", "invalid value "x" for
// flag -activities").
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stdout)
		fs.Usage()
		return flag.ErrHelp
	}
	if err != nil {
		return &usageError{cmd: fs.Name(), msg: err.Error()}
	}
	return nil
}

// parseNoArgs parses a command that takes flags only.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef(fs.Name(), "unexpected argument %q (flags go before arguments; see -h)", fs.Arg(0))
	}
	return nil
}

// group is a command with subcommands (token, secrets, schedules).
type group struct {
	name  string
	about string
	subs  []sub
}

type sub struct {
	name, about string
	run         func(args []string) error
}

// dispatch runs the subcommand args[0], or prints the group's help for -h (or nothing).
func (g group) dispatch(args []string) error {
	if len(args) == 0 {
		g.usage(os.Stderr)
		return usagef(g.name, "a subcommand is required: %s", g.names())
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		g.usage(os.Stdout)
		return flag.ErrHelp
	}
	for _, s := range g.subs {
		if s.name == args[0] {
			return s.run(args[1:])
		}
	}
	return usagef(g.name, "unknown subcommand %q (want %s)", args[0], g.names())
}

func (g group) names() string {
	var n []string
	for _, s := range g.subs {
		n = append(n, s.name)
	}
	return strings.Join(n, ", ")
}

func (g group) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: meterbridge %s <subcommand> [flags]\n\n%s\n\nsubcommands:\n", g.name, g.about)
	for _, s := range g.subs {
		fmt.Fprintf(w, "  %-10s %s\n", s.name, s.about)
	}
	fmt.Fprintf(w, "\nrun 'meterbridge %s <subcommand> -h' for its flags\n", g.name)
}

package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"
)

// configFlag names the TOML file that can hold any of serve's flags, by
// their long names: workers = 2, bind = ["127.0.0.1:8000"]. The command
// line wins over the environment, which wins over the file.
var configFlag = &cli.StringFlag{
	Name: "config", Aliases: []string{"c"}, EnvVars: []string{"GOWSGI_CONFIG"},
	Usage: "read settings from the TOML `FILE` (keys are the long flag names); flags and GOWSGI_ variables override it",
}

// fromFile wraps flags so that altsrc can set them from the config file.
func fromFile(flags []cli.Flag) []cli.Flag {
	out := make([]cli.Flag, 0, len(flags))
	for _, f := range flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			out = append(out, altsrc.NewStringFlag(f))
		case *cli.StringSliceFlag:
			out = append(out, altsrc.NewStringSliceFlag(f))
		case *cli.IntFlag:
			out = append(out, altsrc.NewIntFlag(f))
		case *cli.Int64Flag:
			out = append(out, altsrc.NewInt64Flag(f))
		case *cli.BoolFlag:
			out = append(out, altsrc.NewBoolFlag(f))
		default:
			panic(fmt.Sprintf("gowsgi: flag %v has a type the config file cannot set", f.Names()))
		}
	}
	return out
}

// loadConfig is serve's Before: it checks the config file's keys (altsrc
// would ignore a misspelt one) and applies the file to unset flags.
func loadConfig(flags []cli.Flag) cli.BeforeFunc {
	apply := altsrc.InitInputSourceWithContext(flags, altsrc.NewTomlSourceFromFlagFunc(configFlag.Name))
	return func(c *cli.Context) error {
		if strings.HasSuffix(c.String(configFlag.Name), ".py") {
			return nil // gunicorn's Python config file: pyConfigPath
		}
		if path := c.String(configFlag.Name); path != "" {
			var keys map[string]any
			if _, err := toml.DecodeFile(path, &keys); err != nil {
				return cli.Exit(fmt.Sprintf("--config %s: %v", path, err), 2)
			}
			var known []string
			for _, f := range flags {
				known = append(known, f.Names()[0])
			}
			var unknown []string
			for k := range keys {
				if !slices.Contains(known, k) || k == configFlag.Name {
					unknown = append(unknown, k)
				}
			}
			if len(unknown) > 0 {
				sort.Strings(unknown)
				return cli.Exit(fmt.Sprintf("--config %s: unknown settings %q", path, unknown), 2)
			}
		}
		if err := apply(c); err != nil {
			return cli.Exit(fmt.Sprintf("--config: %v", err), 2)
		}
		return nil
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/apex-robotics/apex/apex"
)

func init() {
	register(&command{
		name:      "compare",
		summary:   "Compare run folders by method over seeds: a table of final policy and expert returns with 95% CIs and Welch tests, and curve plots with ± 1 standard error bands.",
		usage:     "compare RUN_DIR... [--last K] [--iterations N] [--policy-png F] [--expert-png F] [--title T] [--json]",
		takesArgs: true,
		run:       runCompare,
	})
}

type compareRow struct {
	Group          string    `json:"group"`
	Seeds          []uint64  `json:"seeds"`
	Iterations     int       `json:"iterations"`
	PolicyLast     []float64 `json:"policy_last"` // per seed, mean over the last K iterations
	PolicyMean     float64   `json:"policy_mean"`
	PolicyCI95     float64   `json:"policy_ci95"`
	PolicyP        *float64  `json:"policy_p_vs_first,omitempty"` // Welch, against the first group
	ExpertLastHalf []float64 `json:"expert_last_half"`
	ExpertMean     float64   `json:"expert_mean"`
	ExpertCI95     float64   `json:"expert_ci95"`
	ExpertP        *float64  `json:"expert_p_vs_first,omitempty"`
}

func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlags(commands["compare"], stderr)
	last := fs.Int("last", 3, "iterations at the end whose policy returns are averaged per seed")
	upTo := fs.Int("iterations", 0, "compare the first N iterations of every run (default: all that every run of a method completed)")
	policyPNG := fs.String("policy-png", "", "write the policy curves (mean over seeds, ± 1 standard error band) to this PNG")
	expertPNG := fs.String("expert-png", "", "write the expert curves to this PNG")
	title := fs.String("title", "", "title of the plots")
	asJSON := fs.Bool("json", false, "print the table as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("compare needs at least one run folder")
	}
	if *last < 1 || *upTo < 0 {
		return usagef("--last must be ≥ 1 and --iterations ≥ 0")
	}
	groups, err := apex.CompareRuns(fs.Args(), *last, *upTo)
	if err != nil {
		return err
	}
	var rows []compareRow
	for _, g := range groups {
		r := compareRow{Group: g.Name, Seeds: g.Seeds, Iterations: len(g.Iters), PolicyLast: g.PolicyLast, ExpertLastHalf: g.ExpertLastHalf}
		r.PolicyMean, r.PolicyCI95 = apex.MeanCI(g.PolicyLast)
		r.ExpertMean, r.ExpertCI95 = apex.MeanCI(g.ExpertLastHalf)
		if g != groups[0] {
			if p := apex.Welch(g.PolicyLast, groups[0].PolicyLast); !math.IsNaN(p) {
				r.PolicyP = &p
			}
			if p := apex.Welch(g.ExpertLastHalf, groups[0].ExpertLastHalf); !math.IsNaN(p) {
				r.ExpertP = &p
			}
		}
		rows = append(rows, r)
	}
	for _, out := range []struct {
		path   string
		expert bool
		what   string
	}{{*policyPNG, false, "policy alone"}, {*expertPNG, true, "expert (planner)"}} {
		if out.path == "" {
			continue
		}
		t := out.what + ", mean over seeds ± 1 s.e."
		if *title != "" {
			t = *title + ": " + t
		}
		if err := apex.PlotGroups(out.path, t, groups, out.expert); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	pfmt := func(p *float64) string {
		if p == nil {
			return "–"
		}
		return fmt.Sprintf("%.3f", *p)
	}
	fmt.Fprintf(stdout, "| method | seeds | iterations | policy return, last %d iter. (mean ± 95%% CI over seeds) | p vs %s | expert return, last half | p vs %s |\n",
		groups[0].Last, groups[0].Name, groups[0].Name)
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(stdout, "| %s | %d | %d | %.1f ± %.1f | %s | %.1f ± %.1f | %s |\n", r.Group, len(r.Seeds), r.Iterations,
			r.PolicyMean, r.PolicyCI95, pfmt(r.PolicyP), r.ExpertMean, r.ExpertCI95, pfmt(r.ExpertP))
	}
	return nil
}

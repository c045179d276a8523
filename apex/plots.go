package apex

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var (
	policyColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	expertColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	firstColor  = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
)

// savePlot renders p as a PNG at path, atomically.
func savePlot(p *plot.Plot, path string) error {
	wt, err := p.WriterTo(16*vg.Centimeter, 10*vg.Centimeter, "png")
	if err != nil {
		return fmt.Errorf("apex: plot %s: %w", path, err)
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return fmt.Errorf("apex: plot %s: %w", path, err)
	}
	return writeFileAtomic(path, b.Bytes())
}

// addBand adds the filled band between lo and hi (the same X values), in a
// light tint of c, below the lines drawn after it.
func addBand(p *plot.Plot, lo, hi plotter.XYs, c color.RGBA) error {
	ring := make(plotter.XYs, 0, 2*len(lo))
	ring = append(ring, lo...)
	for k := len(hi) - 1; k >= 0; k-- {
		ring = append(ring, hi[k])
	}
	poly, err := plotter.NewPolygon(ring)
	if err != nil {
		return err
	}
	poly.Color = color.NRGBA{R: c.R, G: c.G, B: c.B, A: 0x38} // not premultiplied
	poly.LineStyle.Width = 0
	poly.LineStyle.Color = color.Transparent
	p.Add(poly)
	return nil
}

// band returns mean − ci and mean + ci at x.
func band(x, mean, ci []float64) (lo, hi plotter.XYs) {
	for k := range x {
		lo = append(lo, plotter.XY{X: x[k], Y: mean[k] - ci[k]})
		hi = append(hi, plotter.XY{X: x[k], Y: mean[k] + ci[k]})
	}
	return lo, hi
}

// addLine adds a line with points of the given colour and legend entry.
func addLine(p *plot.Plot, xys plotter.XYs, c color.Color, dashed bool, name string) error {
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	l.Color, s.Color = c, c
	l.Width = vg.Points(1.5)
	s.Shape = draw.CircleGlyph{}
	s.Radius = vg.Points(2)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	p.Add(l, s)
	p.Legend.Add(name, l, s)
	return nil
}

// PlotReturns draws the policy's return (alone, without the planner) and the
// expert's return over the iterations, each with the band of the 95 %
// confidence interval of its mean, as the paper's Fig. 5 (Pinneri et al.
// 2021), to a PNG at path. No rows draws empty axes.
func PlotReturns(path string, rows []Metrics, cfg RunConfig) error {
	p := plot.New()
	title := fmt.Sprintf("%s, %s", cfg.Task, cfg.Method)
	if cfg.Ablation != "" {
		title += " " + string(cfg.Ablation)
	}
	p.Title.Text = fmt.Sprintf("%s, budget %d: policy vs expert", title, cfg.Budget)
	p.X.Label.Text = "iteration"
	p.Y.Label.Text = "return"
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	if len(rows) > 0 {
		pol, exp := make(plotter.XYs, len(rows)), make(plotter.XYs, len(rows))
		var x, pm, pc, em, ec []float64
		for k, r := range rows {
			pol[k] = plotter.XY{X: float64(r.Iteration), Y: r.PolicyReturn}
			exp[k] = plotter.XY{X: float64(r.Iteration), Y: r.ExpertReturn}
			x = append(x, float64(r.Iteration))
			pm, pc = append(pm, r.PolicyReturn), append(pc, r.PolicyReturnCI95)
			em, ec = append(em, r.ExpertReturn), append(ec, r.ExpertReturnCI95)
		}
		for _, b := range []struct {
			mean, ci []float64
			c        color.RGBA
		}{{em, ec, expertColor}, {pm, pc, policyColor}} {
			if lo, hi := band(x, b.mean, b.ci); len(x) > 1 {
				if err := addBand(p, lo, hi, b.c); err != nil {
					return fmt.Errorf("apex: plot returns: %w", err)
				}
			}
		}
		if err := addLine(p, exp, expertColor, true, "expert (planner)"); err != nil {
			return fmt.Errorf("apex: plot returns: %w", err)
		}
		if err := addLine(p, pol, policyColor, false, "policy alone"); err != nil {
			return fmt.Errorf("apex: plot returns: %w", err)
		}
		// Head room for the legend above the curves.
		p.Y.Max += 0.25 * (p.Y.Max - p.Y.Min)
	}
	return savePlot(p, path)
}

// PlotLambda draws the guidance weight λ_guide over the steps of an expert
// episode, for the first and the latest iteration (the paper's Fig. 9), to a
// PNG at path; dt converts steps to seconds. lambda holds one series per
// iteration (mean over the CEM iterations of each step).
func PlotLambda(path string, lambda [][]float64, dt float64) error {
	p := plot.New()
	p.Title.Text = "adaptive guidance weight over an expert episode"
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "λ guide"
	p.Add(plotter.NewGrid())
	series := func(s []float64) plotter.XYs {
		xy := make(plotter.XYs, len(s))
		for t, v := range s {
			xy[t] = plotter.XY{X: float64(t) * dt, Y: v}
		}
		return xy
	}
	line := func(s []float64, c color.Color, name string) error {
		l, err := plotter.NewLine(series(s))
		if err != nil {
			return fmt.Errorf("apex: plot lambda: %w", err)
		}
		l.Color, l.Width = c, vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	if n := len(lambda); n > 0 {
		if n > 1 && len(lambda[0]) > 0 {
			if err := line(lambda[0], firstColor, "iteration 0"); err != nil {
				return err
			}
		}
		if len(lambda[n-1]) > 0 {
			if err := line(lambda[n-1], policyColor, fmt.Sprintf("iteration %d", n-1)); err != nil {
				return err
			}
		}
	}
	return savePlot(p, path)
}

// groupColors are the line colours of PlotGroups, in group order.
var groupColors = []color.RGBA{
	{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, {R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, {R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, {R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, {R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	{R: 0xbc, G: 0xbd, B: 0x22, A: 0xff}, {R: 0x17, G: 0xbe, B: 0xcf, A: 0xff},
}

// PlotGroups draws, for each group, the mean over seeds of the policy's
// return (expert false) or the expert's (true) over the iterations, with a
// band of ± one standard error over the seeds (with two or three seeds a
// 95 % band, t = 12.7 or 4.3 standard errors wide, would hide every curve;
// the 95 % intervals are in CompareRuns' numbers), to a PNG at path.
func PlotGroups(path, title string, groups []*Group, expert bool) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "iteration"
	p.Y.Label.Text = "return"
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	for k, g := range groups {
		mean, ci := g.Policy, g.PolicySE
		if expert {
			mean, ci = g.Expert, g.ExpertSE
		}
		x := make([]float64, len(g.Iters))
		line := make(plotter.XYs, len(g.Iters))
		for i, it := range g.Iters {
			x[i] = float64(it)
			line[i] = plotter.XY{X: x[i], Y: mean[i]}
		}
		c := groupColors[k%len(groupColors)]
		if len(x) > 1 && len(g.Seeds) > 1 {
			lo, hi := band(x, mean, ci)
			if err := addBand(p, lo, hi, c); err != nil {
				return fmt.Errorf("apex: plot groups: %w", err)
			}
		}
		name := fmt.Sprintf("%s (%d seeds)", g.Name, len(g.Seeds))
		if err := addLine(p, line, c, k >= len(groupColors), name); err != nil {
			return fmt.Errorf("apex: plot groups: %w", err)
		}
	}
	if len(groups) > 0 {
		p.Y.Max += 0.35 * (p.Y.Max - p.Y.Min)
	}
	return savePlot(p, path)
}

package icem

import "github.com/apex-robotics/apex/batchsim"

// Policy is what iCEMπ needs of a policy π: its action for an observation,
// and the network that the evaluator runs for the guidance cost.
// apex.Policy implements it.
type Policy interface {
	// Act writes π(obs) to dst. It must be safe for concurrent use.
	Act(obs, dst []float64)
	// Net returns the network in the form evaluators run; nil if the policy
	// cannot be run by an evaluator (guidance is then computed as 0).
	Net() *batchsim.PolicyNet
}

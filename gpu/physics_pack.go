package gpu

import "github.com/apex-robotics/apex/batchsim"

// packPhysics appends the model fields of the physics step.
func packPhysics(p *packed, m *batchsim.Model) {
}

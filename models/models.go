// Package models embeds the reference model files that tasks run as they
// are (models/README.md): the Adroit door with its includes and meshes.
// The textures are left out: batchsim draws meshes flat-shaded and reads no
// texture.
package models

import "embed"

// Adroit holds adroit/adroit_door.xml, the files it includes and the meshes
// it references, under their paths in this folder.
//
//go:embed adroit/*.xml adroit/resources/meshes/*.stl
var Adroit embed.FS

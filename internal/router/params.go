package router

import "github.com/gatehouse/gatehouse/internal/pathparams"

// MaxParams is how many template parameters one route may capture; New
// rejects templates with more.
const MaxParams = pathparams.Max

// Params holds the parameters captured by a PathTemplate match.
type Params = pathparams.Params

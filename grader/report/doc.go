// Package report holds a run's results as data and renders them: a score
// table with the feedback of failed checks, and JSON. Renderers only render;
// they decide nothing about grading.
package report

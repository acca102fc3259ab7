/*
 * booking – progressive enhancement only. Every page works without this file:
 * forms POST normally, calendar navigation is plain links, the language switch is a form.
 * Nothing is needed yet. Add small, self-contained enhancements here (loaded with `defer`),
 * and never make a page depend on them.
 */

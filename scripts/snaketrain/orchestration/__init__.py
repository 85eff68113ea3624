"""The workflow's own glue, called by the Snakefile or from the command line: hooks, config check, terminal summary,
history command, code digest, job resources, report labels, and the changes made to Snakemake's internals
(snakemake_patches)."""

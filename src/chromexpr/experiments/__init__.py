"""The experiments, one package each, over the core that knows none of them (the run shell and tasks in
``chromexpr.training``, metrics and run readers in ``chromexpr.evaluation``, the plotting base and the report
core in ``chromexpr.plotting`` and ``chromexpr.reporting``).

An experiment's package holds what runs it defines from its config block (``plan``, read while the DAG is
built), its evaluation, figures and report section; ``chromexpr.experiments.registry`` orders the packages and
is what the workflow, the report page, the figure redraw and the config checks iterate over. Experiments never
import each other, and this file imports none of them: a job that imports one experiment's module loads no
other's (and its code hash covers no other's).
"""

"""The gate stage: checks every synthetic table must pass before anything of it leaves
(``checks``), and the measures of how good a passing copy is (``quality``: SDMetrics' formulas;
``realism``: how believable a preview reads).
"""

"""Denial risk: which claims a payer is likely to deny at its first decision, and how good a vendor's own
predictions of that are.

- ``features``: the allow-list of what a model may know about a claim, all of it known when the claim is
  submitted (declared once; a column the contract says arrives later cannot be added).
- ``measures``: how a risk score is judged on claims whose outcome is known (AUROC, AUPRC, Brier score,
  reliability, precision and recall at a day's work capacity, denial value caught).
- ``model``: the transparent baseline and the gradient-boosted model, the time split, the decision whether a
  model is good enough to use, and its card.
"""

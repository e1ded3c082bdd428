"""The recommender side of the site: the served NGCF predictor (`predictor`), the
reads that turn a visitor's history into recommendations (`selectors`) and the
jobs that train the checkpoint and evaluate fold-in on the site's data (`jobs`)."""

"""gaitjax: personalised gait at unseen walking speeds by residual diffusion."""
__version__ = "0.1.0"

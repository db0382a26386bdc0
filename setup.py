"""gaitjax: subject-conditioned residual diffusion for gait across walking speeds."""
import setuptools

setuptools.setup(
    name="gaitjax",
    version="0.1.0",
    description=("Personalised lower-limb kinematics at unseen walking speeds "
                 "with subject-conditioned residual diffusion (JAX/Flax)."),
    # configs/ ships too: the quickstart and --config=configs/... files
    # import `configs.default` etc., also from a non-editable install.
    packages=setuptools.find_packages(
        include=["gaitjax", "gaitjax.*", "configs", "configs.*"]),
    python_requires=">=3.10",
    install_requires=[
        "jax>=0.10.2",
        "flax>=0.12.8",
        "optax>=0.2.8",
        "orbax-checkpoint>=0.12.8",
        "numpy>=1.26",
        "scipy>=1.11",
        "ml-collections>=1.1.0",
        "tensorflow-datasets>=4.9.10",
        # tfds's array_record file format and its data sources.
        "array_record>=0.8",
        # tfds builders inside a package need it without TensorFlow (tfds #11212).
        "importlib_resources",
        "absl-py>=2.1",
        "chex>=0.1.92",
        "matplotlib>=3.8",
        "mat-io>=1.0.2",
        # TensorBoard event files of training runs: needs only numpy and
        # protobuf (no TensorFlow, unlike clu.metric_writers' writer).
        "tensorboardX>=2.6",
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-xdist>=3.5"],
    },
    entry_points={
        "console_scripts": [
            "gaitjax-build-data=gaitjax.cli.build_data:run",
            "gaitjax-train=gaitjax.cli.train:run",
            "gaitjax-sample=gaitjax.cli.sample:run",
            "gaitjax-evaluate=gaitjax.cli.evaluate:run",
            "gaitjax-quickstart=gaitjax.cli.quickstart:run",
            "gaitjax-benchmark=gaitjax.cli.benchmark:run",
        ],
    },
)

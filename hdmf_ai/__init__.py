"""hdmf-ai: per-sample results of AI/ML workflows, stored next to the data they came from.

The public API is what this module exports; everything else is internal.
"""

from .columns import (
    ClassLabel,
    ClassProbability,
    ClusterLabel,
    CrossValidationSplit,
    EmbeddedValues,
    EnumColumn,
    FeatureAttribution,
    RegressionOutput,
    SupervisedOutput,
    TopKClasses,
    TopKProbabilities,
    TrainValidateTestSplit,
)
from .errors import (
    ColumnError,
    DiskSpaceError,
    HdmfAiError,
    IncompleteTableWarning,
    ProbabilityWarning,
    ResultsFileError,
    SchemaVersionWarning,
)
from .evaluation import EvaluationTable
from .io import TableInfo, list_tables, open, read, read_evaluations, validate, write
from .io.append import add_column, append_rows
from .io.writer import ResultsWriter
from .results_table import ResultsTable
from .typemap import NAMESPACE, get_manager, get_type_map

__version__ = "0.3.0.dev0"

__all__ = [
    "NAMESPACE",
    "TableInfo",
    "get_manager",
    "get_type_map",
    "list_tables",
    "open",
    "read",
    "read_evaluations",
    "validate",
    "write",
    "add_column",
    "append_rows",
    "ClassLabel",
    "ClassProbability",
    "ClusterLabel",
    "ColumnError",
    "CrossValidationSplit",
    "DiskSpaceError",
    "EmbeddedValues",
    "EnumColumn",
    "EvaluationTable",
    "FeatureAttribution",
    "HdmfAiError",
    "IncompleteTableWarning",
    "ProbabilityWarning",
    "RegressionOutput",
    "ResultsFileError",
    "ResultsTable",
    "ResultsWriter",
    "SchemaVersionWarning",
    "SupervisedOutput",
    "TopKClasses",
    "TopKProbabilities",
    "TrainValidateTestSplit",
]

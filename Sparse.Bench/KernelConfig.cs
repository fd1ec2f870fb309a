using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Sparse.Bench;

/// <summary>Adds the GFLOP/s column to the default configuration.</summary>
public sealed class KernelConfig : ManualConfig
{
    public KernelConfig() => AddColumn(new GigaflopsColumn());
}

/// <summary>GFLOP/s of a kernel benchmark: its operation count over its mean time.</summary>
public sealed class GigaflopsColumn : IColumn
{
    public string Id => nameof(GigaflopsColumn);

    public string ColumnName => "GFLOP/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Floating-point operations per second, in billions (2 x nnz x batch per sparse kernel)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var report = summary[benchmarkCase];
        var shape = benchmarkCase.Parameters["Shape"] as string;
        if (report?.ResultStatistics is null || shape is null)
        {
            return "-";
        }

        var flops = KernelWorkload.Get(shape).Flops(benchmarkCase.Descriptor.WorkloadMethod.Name);
        return (flops / report.ResultStatistics.Mean).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}

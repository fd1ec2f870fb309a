using BenchmarkDotNet.Running;
using Sparse.Bench;

if (args is ["quick", .. var shapes])
{
    QuickKernels.Run(shapes.Length > 0 ? shapes : ["784->1000", "1000->1000"]);
    return 0;
}

if (args is ["dispatch", .. var dispatch])
{
    Dispatch.Run(dispatch.Length > 0 ? int.Parse(dispatch[0], System.Globalization.CultureInfo.InvariantCulture) : 16,
        dispatch.Length > 1 ? int.Parse(dispatch[1], System.Globalization.CultureInfo.InvariantCulture) : 200_000);
    return 0;
}

if (args is ["sweep-step", .. var sweepConfigs])
{
    SweepStep.Run(sweepConfigs.Length > 0 ? int.Parse(sweepConfigs[0], System.Globalization.CultureInfo.InvariantCulture) : 18, sweepConfigs.Contains("relu"));
    return 0;
}

if (args is ["tables", var tableDirectory])
{
    Tables.Write(tableDirectory);
    return 0;
}

if (args is ["sparse-input", .. var sparseInputArgs])
{
    var lazyOnly = sparseInputArgs.Contains("--lazy-only");
    var sparseInput = sparseInputArgs.Where(a => a != "--lazy-only").ToArray();
    int[] widths = sparseInput.Length > 0 ? [.. sparseInput[0].Split(',').Select(w => int.Parse(w, System.Globalization.CultureInfo.InvariantCulture))] : [10_000, 100_000, 1_000_000];
    SparseInputEpoch.Run(widths, sparseInput.Length > 1 ? int.Parse(sparseInput[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000,
        sparseInput.Length > 2 ? int.Parse(sparseInput[2], System.Globalization.CultureInfo.InvariantCulture) : 100, lazyOnly);
    return 0;
}

if (args is ["sparse-input-kernels", .. var kernelWidths])
{
    SparseInputKernels.Run(kernelWidths.Length > 0 ? [.. kernelWidths[0].Split(',').Select(w => int.Parse(w, System.Globalization.CultureInfo.InvariantCulture))] : [10_000, 1_000_000]);
    return 0;
}

if (args is ["input-major", .. var orderWidth])
{
    InputMajorOrder.Run(orderWidth.Length > 0 ? int.Parse(orderWidth[0], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000);
    return 0;
}

if (args is ["csv", var csvPath, .. var csvRepeats])
{
    CsvRead.Run(csvPath, csvRepeats.Length > 0 ? int.Parse(csvRepeats[0], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return 0;
}

if (args is ["rigl-scale", .. var riglWidths])
{
    RiglScale.Run(riglWidths.Length > 0 ? riglWidths : ["1000", "10000", "100000", "1000000"]);
    return 0;
}

if (args is ["feature-recall", .. var recallOptions])
{
    return FeatureRecall.Run(recallOptions);
}

if (args is ["quality", .. var qualityOptions])
{
    return Quality.Run(qualityOptions);
}

if (args is ["cache-gather", .. var gatherBatch])
{
    CacheGather.Run(gatherBatch.Length > 0 ? int.Parse(gatherBatch[0], System.Globalization.CultureInfo.InvariantCulture) : 128);
    return 0;
}

if (args is ["locality", var widthList, .. var bandList])
{
    static int[] Numbers(string list) => [.. list.Split(',').Select(n => int.Parse(n, System.Globalization.CultureInfo.InvariantCulture))];
    Locality.Run(Numbers(widthList), bandList.Length > 0 ? Numbers(bandList[0]) : [2_048, 16_384]);
    return 0;
}

if (args is ["memory", .. var memoryMiB])
{
    MemoryProbe.Run(memoryMiB.Length > 0 ? int.Parse(memoryMiB[0], System.Globalization.CultureInfo.InvariantCulture) : 1024);
    return 0;
}

if (args is ["dense-baseline", .. var baselineEpochs])
{
    return BlasBaseline.Run(baselineEpochs.Length > 0 ? int.Parse(baselineEpochs[0], System.Globalization.CultureInfo.InvariantCulture) : 5);
}

if (args is ["perf-compare", .. var compareOptions])
{
    return PerfCompare.Run(compareOptions);
}

if (args is ["perf-history", .. var historyOptions])
{
    return PerfHistory.Run(historyOptions);
}

if (args is ["perf-pair", .. var pairOptions])
{
    return PerfPair.Run(pairOptions);
}

if (args is ["perf-check", .. var options])
{
    return PerfCheck.Run(options);
}

if (args is ["scale", .. var scale] && scale.Length >= 3)
{
    // scale IN H.. OUT SAMPLES [bB] [eE] [sPATH] [wW] [p0] [h0] [bf16]: batch size B (default 128), E epochs (default 2), each
    // followed by a SET step; with sPATH the model is saved to PATH and loaded back, both timed; wW bands the layers between
    // hidden layers to W neurons (SparseNetwork.CreateMlp's band).
    int Option(char name, int fallback) =>
        scale.FirstOrDefault(a => a[0] == name) is { } option ? int.Parse(option[1..], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    var numbers = scale.Where(a => a.All(char.IsDigit)).Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    // p0: no software prefetch; h0: no huge pages (both on by default, ComputeOptions).
    var compute = Sparse.Core.ComputeOptions.Default with
    {
        PrefetchAboveBytes = scale.Contains("p0") ? long.MaxValue : Sparse.Core.ComputeOptions.Default.PrefetchAboveBytes,
        HugePages = !scale.Contains("h0"),
    };
    // bf16: the kernels gather bfloat16 copies (SparseNetwork.Precision).
    var precision = scale.Contains("bf16") ? Sparse.Core.Precision.Bf16 : Sparse.Core.Precision.Fp32;
    QuickEpoch.RunScale(numbers[..^1], numbers[^1], Option('b', 128), Option('e', 2), scale.FirstOrDefault(a => a[0] == 's')?[1..], compute, precision,
        Option('w', 0) is > 0 and var band ? band : null);
    return 0;
}

if (args is ["epoch-w2", .. var wide])
{
    // epoch-w2 [EPOCHS] [BATCH]
    QuickEpoch.RunWide(
        wide.Length > 0 ? int.Parse(wide[0], System.Globalization.CultureInfo.InvariantCulture) : 2,
        wide.Length > 1 ? int.Parse(wide[1], System.Globalization.CultureInfo.InvariantCulture) : 128);
    return 0;
}

if (args is ["epoch", .. var rest])
{
    QuickEpoch.Run(rest.Length > 0 ? int.Parse(rest[0], System.Globalization.CultureInfo.InvariantCulture) : 5, rest.Contains("set"));
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

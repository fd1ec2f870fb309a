namespace Sparse.Tests.Cli;

/// <summary>A fresh working directory per test, holding the bundled digits under data/, and the CLI run in it.</summary>
public abstract class CliFixture
{
    /// <summary>The test's working directory.</summary>
    protected string Dir { get; private set; } = null!;

    [SetUp]
    public void MakeDirectory()
    {
        Dir = Directory.CreateTempSubdirectory("sparse-cli-").FullName;
        Directory.CreateDirectory(Path.Combine(Dir, "data"));
        File.Copy(Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "digits.csv.gz"), Path.Combine(Dir, "data", "digits.csv.gz"));
    }

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(Dir, recursive: true);

    protected (int Exit, string Out, string Error) Sparse(params string[] args) => CliRunner.Run(Dir, args);

    protected string Write(string name, string text)
    {
        File.WriteAllText(Path.Combine(Dir, name), text);
        return name;
    }
}

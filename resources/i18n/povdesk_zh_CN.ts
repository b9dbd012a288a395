<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>AboutDialog</name>
    <message>
        <source>About povdesk</source>
        <translation>关于 povdesk</translation>
    </message>
    <message>
        <source>povdesk {version}: the offline registry for targeted poverty registration and monitoring</source>
        <translation>povdesk {version}：建档立卡与防止返贫动态监测离线登记工具</translation>
    </message>
    <message>
        <source>Workspace</source>
        <translation>工作区</translation>
    </message>
    <message>
        <source>Workspace file</source>
        <translation>工作区文件</translation>
    </message>
    <message>
        <source>Data folder (logs, drafts, settings)</source>
        <translation>数据文件夹（日志、草稿、设置）</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>版本</translation>
    </message>
</context>
<context>
    <name>BundlePreview</name>
    <message>
        <source>Import these bundles?</source>
        <translation>导入这些同步包？</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>值</translation>
    </message>
    <message>
        <source>cannot be read: {reason}</source>
        <translation>无法读取：{reason}</translation>
    </message>
    <message>
        <source>{households} households from {sender}, sequences {first}–{last}</source>
        <translation>来自 {sender} 的 {households} 户，序号 {first}–{last}</translation>
    </message>
    <message>
        <source>{n} files, {households} households. Nothing is changed until every file has been checked.</source>
        <translation>{n} 个文件，{households} 户。全部文件核验通过之前不会改动任何数据。</translation>
    </message>
    <message>
        <source>Import</source>
        <translation>导入</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>CheckPage</name>
    <message>
        <source>Check</source>
        <translation>检查</translation>
    </message>
    <message>
        <source>The file has been read and checked; nothing has been imported yet.</source>
        <translation>已读取并检查文件，尚未导入任何数据。</translation>
    </message>
    <message>
        <source>Import</source>
        <translation>导入</translation>
    </message>
    <message>
        <source>Sheet</source>
        <translation>工作表</translation>
    </message>
    <message>
        <source>Row</source>
        <translation>行</translation>
    </message>
    <message>
        <source>Column</source>
        <translation>列</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>项目</translation>
    </message>
    <message>
        <source>Problem</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>Check again</source>
        <translation>重新检查</translation>
    </message>
    <message>
        <source>Read the file again after correcting it</source>
        <translation>改正文件后重新读取检查</translation>
    </message>
    <message>
        <source>Save the marked copy…</source>
        <translation>保存标注问题的副本……</translation>
    </message>
    <message>
        <source>A copy of the sheet with each problem cell filled red and explained in a comment</source>
        <translation>表格副本：每个有问题的单元格标红，并以批注说明问题</translation>
    </message>
    <message>
        <source>Columns: how the sheet is read</source>
        <translation>列的对应关系：表中各列按什么读入</translation>
    </message>
    <message>
        <source>Heading in the sheet</source>
        <translation>表中的列名</translation>
    </message>
    <message>
        <source>Read as</source>
        <translation>读作</translation>
    </message>
    <message>
        <source>Check again with these columns</source>
        <translation>按这些对应关系重新检查</translation>
    </message>
    <message>
        <source>Writes the columns as chosen into a mapping file (shown on the first page, usable again with povdesk import-xlsx --mapping) and checks the file with it</source>
        <translation>把选定的对应关系写成映射文件（显示在第一页，也可用于 povdesk import-xlsx --mapping），并按它重新检查文件</translation>
    </message>
    <message>
        <source>Reading and checking the file…</source>
        <translation>正在读取并检查文件……</translation>
    </message>
    <message>
        <source>Checking the spreadsheet…</source>
        <translation>正在检查表格……</translation>
    </message>
    <message>
        <source>The file could not be checked; nothing was imported.</source>
        <translation>无法检查该文件，未导入任何数据。</translation>
    </message>
    <message>
        <source>Sheet {sheet}, heading in row {row}: {read} of {count} columns are read. Change what a column is read as, then press Check again with these columns.</source>
        <translation>工作表“{sheet}”，表头在第 {row} 行：{count} 列中读入 {read} 列。可以改变某列读作什么，然后按“按这些对应关系重新检查”。</translation>
    </message>
    <message>
        <source>Sheet {sheet}: no heading was recognised; row {row} is taken as the heading. Choose what each column is read as (at least name, relation to the head and ID number), then press Check again with these columns.</source>
        <translation>工作表“{sheet}”：没有识别出表头，把第 {row} 行当作表头。请为每列选择读作什么（至少要有姓名、与户主关系和证件号码），然后按“按这些对应关系重新检查”。</translation>
    </message>
    <message>
        <source>Refused: </source>
        <translation>拒绝导入：</translation>
    </message>
    <message>
        <source>{rows} rows: {households} households, {members} people ({updated} already in the workspace, which the sheet updates); {findings} rule findings.</source>
        <translation>共 {rows} 行：{households} 户 {members} 人（其中 {updated} 户已在工作区中，将按表格更新）；{findings} 条校验提示。</translation>
    </message>
    <message>
        <source>{count} problems must be corrected in the file before it can be imported. Correct them, save the file and press Check again.</source>
        <translation>有 {count} 个问题必须在文件中改正后才能导入。请改正并保存文件，然后点击“重新检查”。</translation>
    </message>
    <message>
        <source>There is nothing to import.</source>
        <translation>没有可导入的数据。</translation>
    </message>
    <message>
        <source>No problem blocks the import. Press Import to bring it in, in one step.</source>
        <translation>没有妨碍导入的问题。点击“导入”一次性导入全部数据。</translation>
    </message>
    <message>
        <source>Error: </source>
        <translation>错误：</translation>
    </message>
    <message>
        <source>Warning: </source>
        <translation>警告：</translation>
    </message>
    <message>
        <source>Note: </source>
        <translation>提示：</translation>
    </message>
    <message>
        <source>Save the marked copy</source>
        <translation>保存标注问题的副本</translation>
    </message>
    <message>
        <source>Excel workbook (*.xlsx)</source>
        <translation>Excel 工作簿 (*.xlsx)</translation>
    </message>
    <message>
        <source>Cannot write {path}: {error}</source>
        <translation>无法写入 {path}：{error}</translation>
    </message>
</context>
<context>
    <name>Dashboard</name>
    <message>
        <source>{title}: {households} households, {people} people</source>
        <translation>{title}：{households} 户 {people} 人</translation>
    </message>
    <message>
        <source>Monitoring objects by type</source>
        <translation>监测对象类别</translation>
    </message>
    <message>
        <source>Monitoring objects by risk</source>
        <translation>监测对象风险类型</translation>
    </message>
    <message>
        <source>Data quality: run Check all (F5) to count problems.</source>
        <translation>数据质量：按 F5 检查全部户后显示问题数。</translation>
    </message>
    <message>
        <source>Data quality: {errors} households with errors, {warnings} with warnings only</source>
        <translation>数据质量：{errors} 户有错误，{warnings} 户仅有警告</translation>
    </message>
    <message>
        <source>Households by status</source>
        <translation>各状态户数</translation>
    </message>
    <message>
        <source>Households</source>
        <translation>户数</translation>
    </message>
    <message>
        <source>Monitoring: {objects} monitoring objects ({states}); {identifying} households being identified; {overdue} identifications past their time limit</source>
        <translation>防止返贫监测：监测对象 {objects} 户（{states}）；正在识别 {identifying} 户；超过时限未审定 {overdue} 户</translation>
    </message>
    <message>
        <source>Main causes of poverty</source>
        <translation>主要致贫原因</translation>
    </message>
    <message>
        <source>Households by attribute</source>
        <translation>贫困户属性</translation>
    </message>
    <message>
        <source>{procedure}: households that reached each step</source>
        <translation>{procedure}：各步骤完成户数</translation>
    </message>
</context>
<context>
    <name>FilePage</name>
    <message>
        <source>Choose the spreadsheet</source>
        <translation>选择表格</translation>
    </message>
    <message>
        <source>The povdesk template or register, or a village's own sheet. Nothing is imported before you have seen the check and accepted it.</source>
        <translation>povdesk 模板或花名册，或村里原有的表格。检查结果经您确认之前，不会导入任何数据。</translation>
    </message>
    <message>
        <source>register.xlsx</source>
        <translation>花名册.xlsx</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览……</translation>
    </message>
    <message>
        <source>optional: a column mapping (.toml) for a legacy sheet</source>
        <translation>可选：旧表格的列名映射文件（.toml）</translation>
    </message>
    <message>
        <source>12-digit village code</source>
        <translation>12 位村代码</translation>
    </message>
    <message>
        <source>Excel file</source>
        <translation>Excel 文件</translation>
    </message>
    <message>
        <source>Column mapping</source>
        <translation>列名映射</translation>
    </message>
    <message>
        <source>Village of rows without a village code</source>
        <translation>表中没有村代码时所属的村</translation>
    </message>
    <message>
        <source>Excel workbook (*.xlsx)</source>
        <translation>Excel 工作簿 (*.xlsx)</translation>
    </message>
    <message>
        <source>Column mapping (*.toml)</source>
        <translation>列名映射文件 (*.toml)</translation>
    </message>
</context>
<context>
    <name>FormView</name>
    <message>
        <source>Yes</source>
        <translation>是</translation>
    </message>
    <message>
        <source>No</source>
        <translation>否</translation>
    </message>
</context>
<context>
    <name>GuideDialog</name>
    <message>
        <source>User guide</source>
        <translation>使用说明</translation>
    </message>
    <message>
        <source>This build carries no user guide; see README.md where povdesk was installed from.</source>
        <translation>此版本未带使用说明；请查看安装来源处的 README.md。</translation>
    </message>
</context>
<context>
    <name>HelpMenu</name>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>User guide</source>
        <translation>使用说明</translation>
    </message>
    <message>
        <source>About povdesk</source>
        <translation>关于 povdesk</translation>
    </message>
</context>
<context>
    <name>HouseholdEditor</name>
    <message>
        <source>Save (Ctrl+S)</source>
        <translation>保存 (Ctrl+S)</translation>
    </message>
    <message>
        <source>Void household…</source>
        <translation>作废此户…</translation>
    </message>
    <message>
        <source>A household registered by mistake (entered twice, or one that does not exist) is voided with a reason: it stays, marked, and no list, count or report includes it</source>
        <translation>登记错了的户（重复登记，或并无此户）写明原因后作废：保留并标记，不再计入名单、统计和报表</translation>
    </message>
    <message>
        <source>Restore household…</source>
        <translation>恢复此户…</translation>
    </message>
    <message>
        <source>Add member (Ctrl+N)</source>
        <translation>添加成员 (Ctrl+N)</translation>
    </message>
    <message>
        <source>Edit</source>
        <translation>编辑</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Set as head</source>
        <translation>设为户主</translation>
    </message>
    <message>
        <source>Income year</source>
        <translation>收入年度</translation>
    </message>
    <message>
        <source>Add helper</source>
        <translation>添加帮扶责任人</translation>
    </message>
    <message>
        <source>Add measure</source>
        <translation>添加帮扶措施</translation>
    </message>
    <message>
        <source>Year</source>
        <translation>年度</translation>
    </message>
    <message>
        <source>No income recorded for {year}.</source>
        <translation>{year} 年没有收入记录。</translation>
    </message>
    <message>
        <source>Net income {net} yuan, {size} people</source>
        <translation>家庭纯收入 {net} 元，{size} 人</translation>
    </message>
    <message>
        <source>per capita &lt;b&gt;{value}&lt;/b&gt; yuan</source>
        <translation>人均 &lt;b&gt;{value}&lt;/b&gt; 元</translation>
    </message>
    <message>
        <source>no poverty line for {year}</source>
        <translation>没有 {year} 年的贫困线</translation>
    </message>
    <message>
        <source>poverty line {line} yuan</source>
        <translation>贫困线 {line} 元</translation>
    </message>
    <message>
        <source>above the line</source>
        <translation>高于贫困线</translation>
    </message>
    <message>
        <source>at or below the line</source>
        <translation>不高于贫困线</translation>
    </message>
    <message>
        <source>(the year judged for identification in {year})</source>
        <translation>（{year} 年识别的参考年度）</translation>
    </message>
    <message>
        <source>{name} ({change})</source>
        <translation>{name}（{change}）</translation>
    </message>
    <message>
        <source>(no name)</source>
        <translation>（未填姓名）</translation>
    </message>
    <message>
        <source>Blocks the steps of: {procedures}</source>
        <translation>阻止办理：{procedures}</translation>
    </message>
    <message>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <source>Findings: {errors} errors, {warnings} warnings</source>
        <translation>问题：{errors} 个错误，{warnings} 个警告</translation>
    </message>
    <message>
        <source>No findings</source>
        <translation>没有发现问题</translation>
    </message>
    <message>
        <source>Basic information</source>
        <translation>基本情况</translation>
    </message>
    <message>
        <source>Members</source>
        <translation>家庭成员</translation>
    </message>
    <message>
        <source>Income</source>
        <translation>收入</translation>
    </message>
    <message>
        <source>Living conditions</source>
        <translation>生产生活条件</translation>
    </message>
    <message>
        <source>Helpers and measures</source>
        <translation>帮扶责任人与措施</translation>
    </message>
    <message>
        <source>Procedures</source>
        <translation>程序</translation>
    </message>
    <message>
        <source>Household {no}</source>
        <translation>户 {no}</translation>
    </message>
    <message>
        <source>New household</source>
        <translation>新增户</translation>
    </message>
    <message>
        <source>voided</source>
        <translation>已作废</translation>
    </message>
    <message>
        <source>unsaved changes</source>
        <translation>有未保存的修改</translation>
    </message>
    <message>
        <source>same ID number {id}</source>
        <translation>证件号码相同 {id}</translation>
    </message>
    <message>
        <source>same name and birth date</source>
        <translation>姓名和出生日期相同</translation>
    </message>
    <message>
        <source>name {name} sounds the same, same birth date</source>
        <translation>姓名 {name} 读音相同，出生日期相同</translation>
    </message>
    <message>
        <source>{name} is already registered in household {no} ({how})</source>
        <translation>{name} 已登记在户 {no}（{how}）</translation>
    </message>
    <message>
        <source>Open household {no}</source>
        <translation>打开户 {no}</translation>
    </message>
    <message>
        <source>Possible duplicate — check before saving:</source>
        <translation>可能重复登记，保存前请核对：</translation>
    </message>
    <message>
        <source>Voided on {date} by {user}: {reason}. It stays in the workspace, left out of the list, counts and reports; the county may restore it.</source>
        <translation>已作废：{date}，{user}，原因：{reason}。本户保留在工作区中，不计入名单、统计和报表；县里可以恢复。</translation>
    </message>
    <message>
        <source>Void household</source>
        <translation>作废此户</translation>
    </message>
    <message>
        <source>Why is household {no} voided? (for instance: entered twice, does not exist) It stays in the workspace, marked, and is sent to the county.</source>
        <translation>为什么作废户 {no}？（如：重复登记、并无此户）本户保留在工作区中并标记为已作废，随同步包报县里。</translation>
    </message>
    <message>
        <source>Restore household</source>
        <translation>恢复此户</translation>
    </message>
    <message>
        <source>Why is household {no} restored?</source>
        <translation>为什么恢复户 {no}？</translation>
    </message>
    <message>
        <source>Not voided</source>
        <translation>未作废</translation>
    </message>
    <message>
        <source>Not restored</source>
        <translation>未恢复</translation>
    </message>
    <message>
        <source>Not saved</source>
        <translation>未保存</translation>
    </message>
    <message>
        <source>… and {count} more</source>
        <translation>……另有 {count} 条</translation>
    </message>
    <message>
        <source>Save with errors?</source>
        <translation>有错误，仍要保存吗？</translation>
    </message>
    <message>
        <source>This household has {count} errors:</source>
        <translation>本户有 {count} 处错误：</translation>
    </message>
    <message>
        <source>Save it unfinished? It shows as unfinished in the list, and no procedure step can be recorded, until the errors are corrected.</source>
        <translation>是否先作为未完成保存？改正错误之前，本户在列表中显示为“未完成”，也不能办理任何程序步骤。</translation>
    </message>
    <message>
        <source>Save unfinished</source>
        <translation>保存为未完成</translation>
    </message>
    <message>
        <source>Keep editing</source>
        <translation>继续修改</translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation>未保存的修改</translation>
    </message>
    <message>
        <source>This household has unsaved changes. Save them?</source>
        <translation>本户有未保存的修改，是否保存？</translation>
    </message>
</context>
<context>
    <name>HouseholdListModel</name>
    <message>
        <source>Household no.</source>
        <translation>户编号</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <source>Village</source>
        <translation>村</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Attribute</source>
        <translation>属性</translation>
    </message>
    <message>
        <source>Main cause</source>
        <translation>主要致贫原因</translation>
    </message>
    <message>
        <source>People</source>
        <translation>人数</translation>
    </message>
    <message>
        <source>{head} ({found})</source>
        <translation>{head}（{found}）</translation>
    </message>
    <message>
        <source>{status} · voided</source>
        <translation>{status} · 已作废</translation>
    </message>
    <message>
        <source>{status} · unfinished</source>
        <translation>{status} · 未完成</translation>
    </message>
</context>
<context>
    <name>ImportMenu</name>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Import from Excel…</source>
        <translation>从 Excel 导入……</translation>
    </message>
</context>
<context>
    <name>ImportWizard</name>
    <message>
        <source>Import from Excel</source>
        <translation>从 Excel 导入</translation>
    </message>
</context>
<context>
    <name>Job</name>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>LockScreen</name>
    <message>
        <source>povdesk is locked</source>
        <translation>povdesk 已锁定</translation>
    </message>
    <message>
        <source>Locked while nobody used it. {user}, type your password to go on.</source>
        <translation>因长时间无人操作已锁定。{user}，请输入密码继续。</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>解锁</translation>
    </message>
</context>
<context>
    <name>LockSettingDialog</name>
    <message>
        <source>Lock after idle</source>
        <translation>无操作自动锁定</translation>
    </message>
    <message>
        <source>Lock povdesk when nobody has used it for this long (0: never).</source>
        <translation>无人操作达到此时长后锁定 povdesk（0 表示从不锁定）。</translation>
    </message>
    <message>
        <source> minutes</source>
        <translation> 分钟</translation>
    </message>
    <message>
        <source>never</source>
        <translation>从不</translation>
    </message>
    <message>
        <source>Lock after</source>
        <translation>锁定时间</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>povdesk — {name}</source>
        <translation>povdesk 建档立卡 — {name}</translation>
    </message>
    <message>
        <source>Search: name, ID number, household number or pinyin initials</source>
        <translation>查找：姓名、证件号码、户编号或拼音首字母</translation>
    </message>
    <message>
        <source>All statuses</source>
        <translation>全部状态</translation>
    </message>
    <message>
        <source>Voided households</source>
        <translation>已作废的户</translation>
    </message>
    <message>
        <source>All attributes</source>
        <translation>全部属性</translation>
    </message>
    <message>
        <source>All causes</source>
        <translation>全部致贫原因</translation>
    </message>
    <message>
        <source>Has errors</source>
        <translation>有错误</translation>
    </message>
    <message>
        <source>Has warnings</source>
        <translation>有警告</translation>
    </message>
    <message>
        <source>Any state</source>
        <translation>不限</translation>
    </message>
    <message>
        <source>Press F5 to check every household.</source>
        <translation>按 F5 检查全部户。</translation>
    </message>
    <message>
        <source>Due: {step}</source>
        <translation>待办：{step}</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Lock</source>
        <translation>锁定</translation>
    </message>
    <message>
        <source>Switch user…</source>
        <translation>切换用户…</translation>
    </message>
    <message>
        <source>Log out</source>
        <translation>注销</translation>
    </message>
    <message>
        <source>&amp;Household</source>
        <translation>户(&amp;H)</translation>
    </message>
    <message>
        <source>New household</source>
        <translation>新增户</translation>
    </message>
    <message>
        <source>Find</source>
        <translation>查找</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>查看(&amp;V)</translation>
    </message>
    <message>
        <source>Dashboard</source>
        <translation>统计概览</translation>
    </message>
    <message>
        <source>Check all households</source>
        <translation>检查全部户</translation>
    </message>
    <message>
        <source>&amp;Settings</source>
        <translation>设置(&amp;S)</translation>
    </message>
    <message>
        <source>Lock after idle…</source>
        <translation>无操作自动锁定…</translation>
    </message>
    <message>
        <source>Checking households; the filter applies when the check ends.</source>
        <translation>正在检查各户，检查完成后筛选生效。</translation>
    </message>
    <message>
        <source>{shown}+ found of {total} households, counting…</source>
        <translation>找到 {shown}+ 户，共 {total} 户，正在计数……</translation>
    </message>
    <message>
        <source>{shown} shown of {total} households</source>
        <translation>显示 {shown} 户，共 {total} 户</translation>
    </message>
    <message>
        <source>{found} found of {total} households</source>
        <translation>找到 {found} 户，共 {total} 户</translation>
    </message>
    <message>
        <source>{found} found of {total} households, {shown} shown: scroll for more</source>
        <translation>找到 {found} 户，共 {total} 户，已显示 {shown} 户：向下滚动显示更多</translation>
    </message>
    <message>
        <source>Choose a village in the tree first.</source>
        <translation>请先在左侧选择一个村。</translation>
    </message>
    <message>
        <source>Saved unfinished: correct its errors.</source>
        <translation>已保存为未完成：请改正错误。</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>已保存。</translation>
    </message>
    <message>
        <source>Checking every household…</source>
        <translation>正在检查全部户……</translation>
    </message>
    <message>
        <source>{errors} households with errors, {warnings} with warnings only</source>
        <translation>{errors} 户有错误，{warnings} 户仅有警告</translation>
    </message>
    <message>
        <source>Locks after {minutes} minutes without use.</source>
        <translation>无操作 {minutes} 分钟后自动锁定。</translation>
    </message>
    <message>
        <source>Never locks by itself.</source>
        <translation>不会自动锁定。</translation>
    </message>
    <message>
        <source>Recover unsaved work</source>
        <translation>恢复未保存的内容</translation>
    </message>
    <message>
        <source>povdesk was closed with unsaved changes ({count} households). Open them again?</source>
        <translation>上次关闭时有未保存的修改（{count} 户），是否恢复？</translation>
    </message>
</context>
<context>
    <name>PrintCentre</name>
    <message>
        <source>Print centre</source>
        <translation>打印中心</translation>
    </message>
    <message>
        <source>Household cards</source>
        <translation>明白卡</translation>
    </message>
    <message>
        <source>Publicity list</source>
        <translation>公示名单</translation>
    </message>
    <message>
        <source>Summary report</source>
        <translation>统计表</translation>
    </message>
    <message>
        <source>These households (numbers, one per line):</source>
        <translation>以下各户（户编号，每行一个）：</translation>
    </message>
    <message>
        <source>The selected household: {no} {head}</source>
        <translation>当前户：{no} {head}</translation>
    </message>
    <message>
        <source>The selected household (none is open)</source>
        <translation>当前户（未打开任何户）</translation>
    </message>
    <message>
        <source>Every household of {region} ({count})</source>
        <translation>{region}全部户（{count} 户）</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>步骤</translation>
    </message>
    <message>
        <source>Villages</source>
        <translation>村</translation>
    </message>
    <message>
        <source>First day</source>
        <translation>公示开始日期</translation>
    </message>
    <message>
        <source>Last day</source>
        <translation>公示结束日期</translation>
    </message>
    <message>
        <source>e.g. 丹江镇</source>
        <translation>例如：丹江镇</translation>
    </message>
    <message>
        <source>Township</source>
        <translation>乡镇</translation>
    </message>
    <message>
        <source>e.g. 李明 0855-3331234</source>
        <translation>例如：李明 0855-3331234</translation>
    </message>
    <message>
        <source>Township contact for objections</source>
        <translation>受理异议的乡镇联系人</translation>
    </message>
    <message>
        <source>The list shows ID numbers masked and no health or bank details.</source>
        <translation>名单中身份证号隐藏中间部分，不含健康状况和银行账户信息。</translation>
    </message>
    <message>
        <source>Village</source>
        <translation>村</translation>
    </message>
    <message>
        <source>County</source>
        <translation>县</translation>
    </message>
    <message>
        <source>Level</source>
        <translation>统计层级</translation>
    </message>
    <message>
        <source>Region</source>
        <translation>区划</translation>
    </message>
    <message>
        <source>Identified, exited and removed in</source>
        <translation>识别、脱贫、清退户数的年度</translation>
    </message>
    <message>
        <source>Preview</source>
        <translation>预览</translation>
    </message>
    <message>
        <source>Save as PDF…</source>
        <translation>另存为 PDF……</translation>
    </message>
    <message>
        <source>Print</source>
        <translation>打印</translation>
    </message>
    <message>
        <source>Press Preview to see the pages.</source>
        <translation>点击“预览”查看页面。</translation>
    </message>
    <message>
        <source>Rendering…</source>
        <translation>正在生成……</translation>
    </message>
    <message>
        <source>Rendering the document…</source>
        <translation>正在生成文档……</translation>
    </message>
    <message>
        <source>Nothing was printed.</source>
        <translation>未生成任何文档。</translation>
    </message>
    <message>
        <source>Pages: {pages}</source>
        <translation>共 {pages} 页</translation>
    </message>
    <message>
        <source>The font cannot draw some characters of: {names}. They print as 〓; write them in by hand.</source>
        <translation>字体缺少以下文字中的个别字：{names}。这些字印为〓，请手写补全。</translation>
    </message>
    <message>
        <source>Showing the first {shown} of {pages} pages; the saved PDF has them all.</source>
        <translation>预览显示前 {shown} 页（共 {pages} 页），保存的 PDF 包含全部页面。</translation>
    </message>
    <message>
        <source>PDF (*.pdf)</source>
        <translation>PDF 文件 (*.pdf)</translation>
    </message>
    <message>
        <source>Excel workbook (*.xlsx)</source>
        <translation>Excel 工作簿 (*.xlsx)</translation>
    </message>
    <message>
        <source>Save as</source>
        <translation>另存为</translation>
    </message>
    <message>
        <source>Cannot write {path}: {error}</source>
        <translation>无法写入 {path}：{error}</translation>
    </message>
    <message>
        <source>Saved {path}</source>
        <translation>已保存 {path}</translation>
    </message>
    <message>
        <source>cards</source>
        <translation>明白卡</translation>
    </message>
    <message>
        <source>publicity</source>
        <translation>公示名单</translation>
    </message>
    <message>
        <source>report</source>
        <translation>统计表</translation>
    </message>
    <message>
        <source>Open a household first.</source>
        <translation>请先打开一户。</translation>
    </message>
</context>
<context>
    <name>PrintMenu</name>
    <message>
        <source>&amp;Print</source>
        <translation>打印(&amp;P)</translation>
    </message>
    <message>
        <source>Card of the current household…</source>
        <translation>打印当前户的明白卡……</translation>
    </message>
    <message>
        <source>Cards of the current village…</source>
        <translation>打印当前村的明白卡……</translation>
    </message>
    <message>
        <source>Publicity list…</source>
        <translation>公示名单……</translation>
    </message>
    <message>
        <source>Summary report…</source>
        <translation>统计表……</translation>
    </message>
</context>
<context>
    <name>ProcedurePanel</name>
    <message>
        <source>Date</source>
        <translation>日期</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>步骤</translation>
    </message>
    <message>
        <source>By</source>
        <translation>经办人</translation>
    </message>
    <message>
        <source>Status after</source>
        <translation>之后状态</translation>
    </message>
    <message>
        <source>Voided</source>
        <translation>作废情况</translation>
    </message>
    <message>
        <source>&amp;Void this step…</source>
        <translation>作废此步骤(&amp;V)…</translation>
    </message>
    <message>
        <source>A step recorded by mistake is voided, never deleted: it stays in the history marked voided and moves no status. Choose it in the history first.</source>
        <translation>登记错了的步骤只能作废，不能删除：它留在办理记录中并标明“已作废”，不再改变状态。请先在办理记录中选中该步骤。</translation>
    </message>
    <message>
        <source>Next steps</source>
        <translation>下一步</translation>
    </message>
    <message>
        <source>Date of the step</source>
        <translation>步骤日期</translation>
    </message>
    <message>
        <source>Record this step</source>
        <translation>记录此步骤</translation>
    </message>
    <message>
        <source>The step was refused:</source>
        <translation>此步骤不能记录：</translation>
    </message>
    <message>
        <source>Status: {status}</source>
        <translation>状态：{status}</translation>
    </message>
    <message>
        <source>Who may record it: {roles}</source>
        <translation>可记录的角色：{roles}</translation>
    </message>
    <message>
        <source>This household has unsaved changes. Save it (Ctrl+S) before recording a procedure step.</source>
        <translation>本户有未保存的修改，请先保存 (Ctrl+S) 再记录程序步骤。</translation>
    </message>
    <message>
        <source>(no name)</source>
        <translation>（未填姓名）</translation>
    </message>
    <message>
        <source>Blocked until corrected by {count} errors:</source>
        <translation>以下 {count} 个错误改正之前不能办理此步骤：</translation>
    </message>
    <message>
        <source>{step} (voided)</source>
        <translation>{step}（已作废）</translation>
    </message>
    <message>
        <source>Voided {date} by {user} ({role}): {reason}</source>
        <translation>已作废：{date} {user}（{role}）：{reason}</translation>
    </message>
    <message>
        <source>The household has unsaved changes; save it (Ctrl+S) before voiding a step.</source>
        <translation>本户有未保存的修改，请先保存 (Ctrl+S) 再作废步骤。</translation>
    </message>
    <message>
        <source>The step was not voided:</source>
        <translation>此步骤不能作废：</translation>
    </message>
    <message>
        <source>The household has unsaved changes; save it (Ctrl+S) before recording a step.</source>
        <translation>本户有未保存的修改，请先保存 (Ctrl+S) 再记录步骤。</translation>
    </message>
</context>
<context>
    <name>QFileDialog</name>
    <message>
        <source>&amp;Look in:</source>
        <translation>查找范围(&amp;L)：</translation>
    </message>
    <message>
        <source>Files of &amp;type:</source>
        <translation>文件类型(&amp;T)：</translation>
    </message>
</context>
<context>
    <name>ReasonDialog</name>
    <message>
        <source>Reason (required)</source>
        <translation>原因（必填）</translation>
    </message>
</context>
<context>
    <name>RemovalReasonDialog</name>
    <message>
        <source>Remove member</source>
        <translation>删除成员</translation>
    </message>
    <message>
        <source>Why does {name} leave this household?</source>
        <translation>{name} 因何不再是本户成员？</translation>
    </message>
    <message>
        <source>Entered by mistake: delete the row</source>
        <translation>误录：删除这一行</translation>
    </message>
    <message>
        <source>A person who left stays on the roster with the reason; the card and the register show it, and the household's size no longer counts them.</source>
        <translation>减少的成员连同原因留在名单上，明白卡和花名册都会显示，家庭人口数不再计入。</translation>
    </message>
</context>
<context>
    <name>ResultPage</name>
    <message>
        <source>Import</source>
        <translation>导入</translation>
    </message>
    <message>
        <source>Importing…</source>
        <translation>正在导入……</translation>
    </message>
    <message>
        <source>Importing the spreadsheet…</source>
        <translation>正在导入表格……</translation>
    </message>
    <message>
        <source>Imported {households} households, {members} people ({updated} of them updated). {findings} rule findings: the households with errors are listed under View › Check all households.</source>
        <translation>已导入 {households} 户 {members} 人（其中 {updated} 户为更新）。{findings} 条校验提示：有错误的户可在“查看 › 检查全部户”中列出。</translation>
    </message>
    <message>
        <source>The import failed; nothing was imported.</source>
        <translation>导入失败，未导入任何数据。</translation>
    </message>
</context>
<context>
    <name>RowsEditor</name>
    <message>
        <source>Remove</source>
        <translation>删除</translation>
    </message>
</context>
<context>
    <name>SyncCentre</name>
    <message>
        <source>Sync centre — {name}</source>
        <translation>同步中心 — {name}</translation>
    </message>
    <message>
        <source>Device keys</source>
        <translation>设备密钥</translation>
    </message>
    <message>
        <source>Export and import</source>
        <translation>导出与导入</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Conflicts</source>
        <translation>冲突</translation>
    </message>
    <message>
        <source>Online (relay)</source>
        <translation>在线（中转服务器）</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>This device</source>
        <translation>本设备</translation>
    </message>
    <message>
        <source>Fingerprint</source>
        <translation>指纹</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Export this workspace's public key file…</source>
        <translation>导出本工作区的公钥文件…</translation>
    </message>
    <message>
        <source>Enrolled devices</source>
        <translation>已登记的设备</translation>
    </message>
    <message>
        <source>County key</source>
        <translation>县级密钥</translation>
    </message>
    <message>
        <source>Region code</source>
        <translation>区划代码</translation>
    </message>
    <message>
        <source>Workspace name</source>
        <translation>工作区名称</translation>
    </message>
    <message>
        <source>Workspace level</source>
        <translation>级别</translation>
    </message>
    <message>
        <source>Trusted since</source>
        <translation>登记时间</translation>
    </message>
    <message>
        <source>By</source>
        <translation>经办人</translation>
    </message>
    <message>
        <source>Enrol a device key…</source>
        <translation>登记设备密钥…</translation>
    </message>
    <message>
        <source>Set the county key…</source>
        <translation>设置县级密钥…</translation>
    </message>
    <message>
        <source>Revoke the selected device…</source>
        <translation>停用选中的设备…</translation>
    </message>
    <message>
        <source>Export the device list for the relay…</source>
        <translation>导出给中转服务器的设备名单…</translation>
    </message>
    <message>
        <source>Compare the fingerprint with the other side by phone before you trust a key: the key file alone does not prove who made it.</source>
        <translation>信任密钥之前，请通过电话与对方核对指纹：仅凭密钥文件不能证明它是谁生成的。</translation>
    </message>
    <message>
        <source> (inactive)</source>
        <translation>（已停用）</translation>
    </message>
    <message>
        <source>{n} devices enrolled.</source>
        <translation>已登记 {n} 台设备。</translation>
    </message>
    <message>
        <source>Set: {region} {name}, fingerprint {fp}</source>
        <translation>已设置：{region} {name}，指纹 {fp}</translation>
    </message>
    <message>
        <source>Unknown: set the county key (from the county's key file) before exporting bundles.</source>
        <translation>未设置：导出同步包之前，请先用县里的密钥文件设置县级密钥。</translation>
    </message>
    <message>
        <source>village</source>
        <translation>村</translation>
    </message>
    <message>
        <source>township</source>
        <translation>乡镇</translation>
    </message>
    <message>
        <source>county</source>
        <translation>县</translation>
    </message>
    <message>
        <source>Export the public key file</source>
        <translation>导出公钥文件</translation>
    </message>
    <message>
        <source>povdesk key files (*.povkey);;All files (*)</source>
        <translation>povdesk 密钥文件 (*.povkey);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Public key exported</source>
        <translation>公钥已导出</translation>
    </message>
    <message>
        <source>Saved {file}.
Fingerprint: {fp}
Give the file to the other side and read them the fingerprint by phone.</source>
        <translation>已保存 {file}。
指纹：{fp}
请把文件交给对方，并通过电话把指纹读给对方核对。</translation>
    </message>
    <message>
        <source>povdesk key files (*.povkey *.key *.json);;All files (*)</source>
        <translation>povdesk 密钥文件 (*.povkey *.key *.json);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Key replaced</source>
        <translation>密钥已替换</translation>
    </message>
    <message>
        <source>This replaces the device's previous key (fingerprint {fp}).</source>
        <translation>这替换了该设备以前的密钥（指纹 {fp}）。</translation>
    </message>
    <message>
        <source>Revoke a device</source>
        <translation>停用设备</translation>
    </message>
    <message>
        <source>Select the device to revoke first.</source>
        <translation>请先在表中选中要停用的设备。</translation>
    </message>
    <message>
        <source>Revoke {region} {name}: its bundles are refused from now on and its key cannot be enrolled again.
Why (lost, stolen, replaced)?</source>
        <translation>停用 {region} {name}：今后不再导入它的同步包，它的密钥也不能再登记。
停用原因（丢失、被盗、更换）？</translation>
    </message>
    <message>
        <source>Export the device list for the relay</source>
        <translation>导出给中转服务器的设备名单</translation>
    </message>
    <message>
        <source>Device lists (*.json);;All files (*)</source>
        <translation>设备名单 (*.json);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Wrote {file}. Load it on the relay machine: povdesk relay devices load</source>
        <translation>已写出 {file}。请在中转服务器上载入：povdesk relay devices load</translation>
    </message>
    <message>
        <source>{region} {name} ({level})
Device {device}

Fingerprint:
{fp}

Read this fingerprint to the other side by phone (or have them read theirs). Trust this key only if every group matches.</source>
        <translation>{region} {name}（{level}）
设备 {device}

指纹：
{fp}

请通过电话与对方逐组核对这个指纹，每一组都相同才信任这把密钥。</translation>
    </message>
    <message>
        <source>Trust this key?</source>
        <translation>信任这把密钥？</translation>
    </message>
    <message>
        <source>Export a bundle</source>
        <translation>导出同步包</translation>
    </message>
    <message>
        <source>To</source>
        <translation>发给</translation>
    </message>
    <message>
        <source>A folder or a USB stick</source>
        <translation>文件夹或U盘</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <source>File name</source>
        <translation>文件名</translation>
    </message>
    <message>
        <source>Every record (a full bundle; use it when a bundle was lost)</source>
        <translation>全部记录（完整包；有同步包丢失时使用）</translation>
    </message>
    <message>
        <source>Export bundle</source>
        <translation>导出同步包</translation>
    </message>
    <message>
        <source>Import bundles</source>
        <translation>导入同步包</translation>
    </message>
    <message>
        <source>Import bundles…</source>
        <translation>导入同步包…</translation>
    </message>
    <message>
        <source>Choose one or more bundle files; they are all checked before anything is changed.</source>
        <translation>选择一个或多个同步包文件；全部校验通过后才会修改数据。</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Applied</source>
        <translation>已合入</translation>
    </message>
    <message>
        <source>Unchanged</source>
        <translation>无变化</translation>
    </message>
    <message>
        <source>Rejected</source>
        <translation>拒绝</translation>
    </message>
    <message>
        <source>Flagged</source>
        <translation>跨户问题</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>详情</translation>
    </message>
    <message>
        <source>Household</source>
        <translation>户</translation>
    </message>
    <message>
        <source>What</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Why</source>
        <translation>原因</translation>
    </message>
    <message>
        <source>Export to which folder or USB stick?</source>
        <translation>导出到哪个文件夹或U盘？</translation>
    </message>
    <message>
        <source>The folder {folder} does not exist (is the USB stick plugged in?).</source>
        <translation>文件夹 {folder} 不存在（U盘插好了吗？）。</translation>
    </message>
    <message>
        <source>{file} exists. Replace it?</source>
        <translation>{file} 已存在，是否替换？</translation>
    </message>
    <message>
        <source>Exporting the bundle…</source>
        <translation>正在导出同步包…</translation>
    </message>
    <message>
        <source>Nothing new to send (sent up to sequence {last}); no file was written.</source>
        <translation>没有新的数据要发送（已发送到序号 {last}）；未生成文件。</translation>
    </message>
    <message>
        <source>Exported {file}: {n} households, sequences {first}–{last}, encrypted to {fp}.</source>
        <translation>已导出 {file}：{n} 户，序号 {first}–{last}，加密给 {fp}。</translation>
    </message>
    <message>
        <source>povdesk bundles (*.pvb);;All files (*)</source>
        <translation>povdesk 同步包 (*.pvb);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Importing {n} bundles…</source>
        <translation>正在导入 {n} 个同步包…</translation>
    </message>
    <message>
        <source>Importing bundles…</source>
        <translation>正在导入同步包…</translation>
    </message>
    <message>
        <source>Nothing was imported.</source>
        <translation>没有导入任何内容。</translation>
    </message>
    <message>
        <source>refused</source>
        <translation>已拒绝</translation>
    </message>
    <message>
        <source>not imported</source>
        <translation>未导入</translation>
    </message>
    <message>
        <source>another bundle of this import was refused</source>
        <translation>本次导入中另一个同步包被拒绝</translation>
    </message>
    <message>
        <source>Refused: {reason} Nothing was imported; remove or replace that file and import again.</source>
        <translation>已拒绝：{reason} 没有导入任何内容；请去掉或换掉该文件后重新导入。</translation>
    </message>
    <message>
        <source>audit chain: {n} problems</source>
        <translation>审计记录链：{n} 个问题</translation>
    </message>
    <message>
        <source>{n} steps recorded by the county</source>
        <translation>县里记录的步骤 {n} 个</translation>
    </message>
    <message>
        <source>applied {n}</source>
        <translation>已合入 {n}</translation>
    </message>
    <message>
        <source>{inserted} new, {merged} merged</source>
        <translation>新增 {inserted}，合并 {merged}</translation>
    </message>
    <message>
        <source>Imported {n} bundle(s): {applied} households applied.</source>
        <translation>已导入 {n} 个同步包：合入 {applied} 户。</translation>
    </message>
    <message>
        <source>rejected</source>
        <translation>拒绝</translation>
    </message>
    <message>
        <source>conflict</source>
        <translation>冲突</translation>
    </message>
    <message>
        <source>{field}: here {local}, there {remote}</source>
        <translation>{field}：本地 {local}，对方 {remote}</translation>
    </message>
    <message>
        <source>finding</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>duplicate person</source>
        <translation>重复登记</translation>
    </message>
    <message>
        <source>county step</source>
        <translation>县级步骤</translation>
    </message>
    <message>
        <source>audit chain</source>
        <translation>审计记录链</translation>
    </message>
    <message>
        <source>Relay server</source>
        <translation>中转服务器</translation>
    </message>
    <message>
        <source>Given by the county; compare it by phone</source>
        <translation>由县里提供，请电话核对</translation>
    </message>
    <message>
        <source>With https:// only: the certificate's SHA-256 fingerprint</source>
        <translation>仅 https://：证书的 SHA-256 指纹</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>地址</translation>
    </message>
    <message>
        <source>Relay fingerprint</source>
        <translation>中转服务器指纹</translation>
    </message>
    <message>
        <source>Certificate fingerprint</source>
        <translation>证书指纹</translation>
    </message>
    <message>
        <source>Set the relay</source>
        <translation>设置中转服务器</translation>
    </message>
    <message>
        <source>Bundles through the relay</source>
        <translation>经中转服务器收发的同步包</translation>
    </message>
    <message>
        <source>Upload now</source>
        <translation>立即上传</translation>
    </message>
    <message>
        <source>Fetch</source>
        <translation>取回</translation>
    </message>
    <message>
        <source>Sequences</source>
        <translation>序号</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Uploads also run by themselves whenever the relay can be reached. A bundle is kept until the other side's acknowledgement has come back.</source>
        <translation>只要能连上中转服务器，上传也会自动进行。同步包一直保留，直到对方确认收到。</translation>
    </message>
    <message>
        <source>No relay is set: enter the address and fingerprint the county gave.</source>
        <translation>尚未设置中转服务器：请填写县里提供的地址和指纹。</translation>
    </message>
    <message>
        <source>, certificate pinned</source>
        <translation>，证书已固定</translation>
    </message>
    <message>
        <source>Relay: {url} (fingerprint {fp}{pinned})</source>
        <translation>中转服务器：{url}（指纹 {fp}{pinned}）</translation>
    </message>
    <message>
        <source>Enter the relay's address and fingerprint.</source>
        <translation>请填写中转服务器的地址和指纹。</translation>
    </message>
    <message>
        <source>Contacting the relay…</source>
        <translation>正在连接中转服务器……</translation>
    </message>
    <message>
        <source>The relay at {url} is set.</source>
        <translation>已设置中转服务器 {url}。</translation>
    </message>
    <message>
        <source>Uploading…</source>
        <translation>正在上传……</translation>
    </message>
    <message>
        <source>{n} bundles uploaded, {r} refused.</source>
        <translation>已上传 {n} 个同步包，被拒绝 {r} 个。</translation>
    </message>
    <message>
        <source>Not reachable now: {reason}</source>
        <translation>暂时无法连接：{reason}</translation>
    </message>
    <message>
        <source>Fetching from the relay…</source>
        <translation>正在从中转服务器取回……</translation>
    </message>
    <message>
        <source>Fetched {n} bundles.</source>
        <translation>取回 {n} 个同步包。</translation>
    </message>
    <message>
        <source>{file}: not imported: {reason} (the file is kept)</source>
        <translation>{file}：未导入：{reason}（文件已保留）</translation>
    </message>
    <message>
        <source>The relay holds {n} more behind a missing bundle.</source>
        <translation>中转服务器还暂存 {n} 个（前面缺少同步包）。</translation>
    </message>
    <message>
        <source>Other side</source>
        <translation>对方</translation>
    </message>
    <message>
        <source>Sent up to</source>
        <translation>已发出至</translation>
    </message>
    <message>
        <source>Acknowledged up to</source>
        <translation>对方确认收到至</translation>
    </message>
    <message>
        <source>Not yet acknowledged</source>
        <translation>尚未确认收到</translation>
    </message>
    <message>
        <source>Received from it up to</source>
        <translation>已收到对方至</translation>
    </message>
    <message>
        <source>Audit chain</source>
        <translation>审计记录链</translation>
    </message>
    <message>
        <source>Duplicates and procedure steps from the county</source>
        <translation>县里发来的重复登记提示和程序步骤</translation>
    </message>
    <message>
        <source>Duplicates found at import</source>
        <translation>导入时发现的重复登记</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>内容</translation>
    </message>
    <message>
        <source>Date</source>
        <translation>日期</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Changes recorded up to sequence {last}; {n} open conflicts.</source>
        <translation>修改已记录至序号 {last}；未处理冲突 {n} 个。</translation>
    </message>
    <message>
        <source>{n} breaks</source>
        <translation>{n} 处断链</translation>
    </message>
    <message>
        <source>continuous up to {seq}</source>
        <translation>连续至第 {seq} 条</translation>
    </message>
    <message>
        <source>sequences {a}–{b} ({n} households)</source>
        <translation>序号 {a}–{b}（{n} 户）</translation>
    </message>
    <message>
        <source>nothing</source>
        <translation>无</translation>
    </message>
    <message>
        <source>Sequences {a}–{b} ({n} households) have not yet reached the county.</source>
        <translation>序号 {a}–{b}（{n} 户）尚未送达县里。</translation>
    </message>
    <message>
        <source>Everything has reached the county.</source>
        <translation>全部修改都已送达县里。</translation>
    </message>
    <message>
        <source>No.</source>
        <translation>编号</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>项目</translation>
    </message>
    <message>
        <source>Here</source>
        <translation>本地</translation>
    </message>
    <message>
        <source>Select a conflict to compare both versions.</source>
        <translation>选择一个冲突，对照双方的取值。</translation>
    </message>
    <message>
        <source>This workspace</source>
        <translation>本工作区</translation>
    </message>
    <message>
        <source>Take this workspace's value</source>
        <translation>采用本工作区的值</translation>
    </message>
    <message>
        <source>Take the other side's value</source>
        <translation>采用对方的值</translation>
    </message>
    <message>
        <source>Or enter the correct value</source>
        <translation>或输入正确的值</translation>
    </message>
    <message>
        <source>Use this value</source>
        <translation>采用此值</translation>
    </message>
    <message>
        <source>The record keeps this workspace's value until the conflict is resolved; the resolution is saved like any edit and travels with the next bundle.</source>
        <translation>处理之前，记录保留本工作区的值；处理结果像普通修改一样保存，并随下一个同步包发给对方。</translation>
    </message>
    <message>
        <source>Conflicts ({n})</source>
        <translation>冲突（{n}）</translation>
    </message>
    <message>
        <source>No open conflicts.</source>
        <translation>没有未处理的冲突。</translation>
    </message>
    <message>
        <source>Household {no}{head} — {field}</source>
        <translation>户 {no}{head} — {field}</translation>
    </message>
    <message>
        <source>Other side: {name}</source>
        <translation>对方：{name}</translation>
    </message>
    <message>
        <source>This workspace: {name}</source>
        <translation>本工作区：{name}</translation>
    </message>
    <message>
        <source>(empty)</source>
        <translation>（空）</translation>
    </message>
    <message>
        <source>Before both changes: {value}</source>
        <translation>双方修改之前：{value}</translation>
    </message>
    <message>
        <source>The value before both changes is not known.</source>
        <translation>双方修改之前的值不详。</translation>
    </message>
    <message>
        <source>Keep this workspace's steps</source>
        <translation>保留本工作区的步骤</translation>
    </message>
    <message>
        <source>Keep the other side's steps</source>
        <translation>保留对方的步骤</translation>
    </message>
    <message>
        <source>Both sides recorded steps that cannot follow each other. The steps of the side not kept are voided: they stay in the history, marked, and the decision goes down in the next return bundle.</source>
        <translation>双方登记的步骤前后接不上。未保留一方的步骤将作废：仍留在办理记录中并标明已作废，决定随下一个回传包送达。</translation>
    </message>
    <message>
        <source>Both sides recorded steps that cannot follow each other: the county decides which are kept, and its decision comes in the next return bundle.</source>
        <translation>双方登记的步骤前后接不上：由县里决定保留哪一方，决定随下一个回传包送达。</translation>
    </message>
    <message>
        <source>Procedure steps</source>
        <translation>程序步骤</translation>
    </message>
    <message>
        <source>a member</source>
        <translation>某成员</translation>
    </message>
    <message>
        <source>Member {name}: place in the list</source>
        <translation>成员 {name}：排列位置</translation>
    </message>
    <message>
        <source>Member {name}: {field}</source>
        <translation>成员 {name}：{field}</translation>
    </message>
    <message>
        <source>{field} ({year})</source>
        <translation>{field}（{year} 年）</translation>
    </message>
    <message>
        <source>Support measures ({year})</source>
        <translation>帮扶措施（{year} 年）</translation>
    </message>
    <message>
        <source>Income year {year}</source>
        <translation>{year} 年收入记录</translation>
    </message>
    <message>
        <source>Helpers</source>
        <translation>帮扶责任人</translation>
    </message>
    <message>
        <source>Household number</source>
        <translation>户编号</translation>
    </message>
    <message>
        <source>Village</source>
        <translation>村</translation>
    </message>
    <message>
        <source>Sync: records updated.</source>
        <translation>同步：记录已更新。</translation>
    </message>
    <message>
        <source>S&amp;ync</source>
        <translation>同步(&amp;Y)</translation>
    </message>
    <message>
        <source>Sync centre…</source>
        <translation>同步中心…</translation>
    </message>
</context>
<context>
    <name>VoidStepDialog</name>
    <message>
        <source>Void a step</source>
        <translation>作废步骤</translation>
    </message>
    <message>
        <source>Void “{step}” of {date}, recorded by {by}?</source>
        <translation>作废 {date} 由 {by} 登记的“{step}”？</translation>
    </message>
    <message>
        <source>The step stays in the history, struck through and marked voided; the status is derived again without it. Only the role that recorded it, or a higher level, may void it.</source>
        <translation>该步骤仍留在办理记录中，划线并标明“已作废”；状态按其余步骤重新确定。只有登记该步骤的角色或更高一级可以作废。</translation>
    </message>
    <message>
        <source>&amp;Reason (required)</source>
        <translation>作废原因（必填）(&amp;R)</translation>
    </message>
    <message>
        <source>Void the step</source>
        <translation>作废</translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <source>Create a workspace</source>
        <translation>新建工作区</translation>
    </message>
    <message>
        <source>No workspace yet. Enter the region this laptop works for and an administrator account.</source>
        <translation>还没有工作区。请填写本机负责的行政区划和管理员账号。</translation>
    </message>
    <message>
        <source>12-digit village, 9-digit township or 6-digit county code</source>
        <translation>12 位村、9 位乡镇或 6 位县级区划代码</translation>
    </message>
    <message>
        <source>optional: the county's public key file (a village or township laptop)</source>
        <translation>可选：县级公钥文件（村级、乡镇级电脑）</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <source>Region code</source>
        <translation>区划代码</translation>
    </message>
    <message>
        <source>Workspace name</source>
        <translation>工作区名称</translation>
    </message>
    <message>
        <source>Administrator</source>
        <translation>管理员</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <source>Password again</source>
        <translation>再次输入密码</translation>
    </message>
    <message>
        <source>County key</source>
        <translation>县级密钥</translation>
    </message>
    <message>
        <source>Open another workspace file…</source>
        <translation>打开其他工作区文件……</translation>
    </message>
    <message>
        <source>County public key</source>
        <translation>县级公钥</translation>
    </message>
    <message>
        <source>{name}, fingerprint {fp}: compare it with the county by phone</source>
        <translation>{name}，指纹 {fp}：请电话与县里核对</translation>
    </message>
    <message>
        <source>Open workspace</source>
        <translation>打开工作区</translation>
    </message>
    <message>
        <source>povdesk workspace (*.db)</source>
        <translation>povdesk 工作区 (*.db)</translation>
    </message>
    <message>
        <source>Log in</source>
        <translation>登录</translation>
    </message>
    <message>
        <source>User</source>
        <translation>用户名</translation>
    </message>
    <message>
        <source>Creating the demo village…</source>
        <translation>正在生成演示村……</translation>
    </message>
    <message>
        <source>Demo accounts: worker, township, county, admin; password {password}</source>
        <translation>演示账号：worker、township、county、admin，密码均为 {password}</translation>
    </message>
</context>
<context>
    <name>errors</name>
    <message>
        <source>povdesk</source>
        <translation>povdesk 建档立卡</translation>
    </message>
    <message>
        <source>Unexpected error</source>
        <translation>意外错误</translation>
    </message>
    <message>
        <source>Something went wrong that povdesk did not expect. Your saved data is safe; unsaved changes are kept as a draft. Copy the details below for whoever helps you.</source>
        <translation>povdesk 遇到了意外错误。已保存的数据是安全的，未保存的修改已存为草稿。请复制下面的详细信息，发给为您提供帮助的人。</translation>
    </message>
    <message>
        <source>Copy details</source>
        <translation>复制详细信息</translation>
    </message>
</context>
<context>
    <name>security</name>
    <message>
        <source>The workspace file is damaged</source>
        <translation>工作区文件已损坏</translation>
    </message>
    <message>
        <source>The latest backup is {name}, made {when}. Open it instead? Changes made after it are lost; the damaged file is kept beside it.</source>
        <translation>最近的备份是 {name}（{when}）。是否改用这个备份？此后所做的修改将丢失；损坏的文件会保留在旁边。</translation>
    </message>
    <message>
        <source>There is no backup of this workspace beside it. Ask the county for a copy, or restore one from a USB stick.</source>
        <translation>工作区旁边没有它的备份。请向县里要一份副本，或从 U 盘恢复备份。</translation>
    </message>
    <message>
        <source>Open the latest backup</source>
        <translation>打开最近的备份</translation>
    </message>
    <message>
        <source>Encrypt this workspace?</source>
        <translation>加密此工作区？</translation>
    </message>
    <message>
        <source>This workspace is not encrypted: whoever takes the laptop or copies the file reads every ID number and bank account in it. Encrypt it now? Every account's password opens it as before; a plain backup is kept until you delete it.</source>
        <translation>此工作区没有加密：拿到这台电脑或复制了这个文件的人，都能读到其中每一个证件号码和银行账号。现在加密吗？各账户仍用原来的密码打开；会先留一份未加密的备份，直到您删除它。</translation>
    </message>
    <message>
        <source>Workspace encrypted</source>
        <translation>工作区已加密</translation>
    </message>
    <message>
        <source>The workspace is encrypted. The plain copy {name} beside it is NOT encrypted. Delete it now?</source>
        <translation>工作区已加密。旁边未加密的副本 {name} 没有加密，现在删除吗？</translation>
    </message>
</context>
</TS>